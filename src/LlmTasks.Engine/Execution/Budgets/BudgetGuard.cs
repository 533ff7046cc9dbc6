using System.Globalization;
using LlmTasks.Storage;

namespace LlmTasks.Execution.Budgets;

/// <summary>
/// The budgets of a store as a task manager checks them before each task's run: the caps are read from the store (at
/// most once a second, and at once after this process changed them), the spend of a scope is the cost of its attempts
/// that started in the current period (UTC, on the engine's clock), summed in the store, so every process agrees.
/// A task whose scope has spent its cap (or would pass it with what its call is sure to cost) is held, not failed.
/// </summary>
internal sealed class BudgetGuard(ITaskStore store, TimeProvider time)
{
    private static readonly TimeSpan CacheFor = TimeSpan.FromSeconds(1);
    private readonly object _gate = new();
    private IReadOnlyList<BudgetRow>? _rows;
    private long _readAt;

    /// <summary>Why a task may not run now, and for how long its hold lasts.</summary>
    internal sealed record Hold(LlmBudget Budget, string Reason, long HoldMs);

    /// <summary>The store's budgets with what their scope spent in the current period.</summary>
    public IReadOnlyList<LlmBudget> All() => Measure(Rows(fresh: true));

    /// <summary>Forget the cached caps (this process changed them).</summary>
    public void Changed()
    {
        lock (_gate)
        {
            _rows = null;
        }
    }

    /// <summary>The budget that holds this task back (the first of its scopes that would be passed), or null when it may run.</summary>
    public Hold? Check(string? taskName, Func<decimal> sureCost) =>
        // The caps are cached for a second; a hold lasts until the period turns, so it is only ever decided on caps read
        // now (another process may have raised or removed the budget within that second).
        Check(taskName, sureCost, fresh: false) is null ? null : Check(taskName, sureCost, fresh: true);

    private Hold? Check(string? taskName, Func<decimal> sureCostOf, bool fresh)
    {
        var rows = Rows(fresh);
        if (rows.Count == 0)
        {
            return null;
        }

        var covering = rows.Where(r => Covers(r, taskName)).ToList();
        if (covering.Count == 0)
        {
            return null; // no budget covers the task: nothing to read, no prompt to count
        }

        var now = time.GetUtcNow();
        var sureCost = sureCostOf(); // counted only now: the tokenizer's first use is slow
        foreach (var budget in Measure(covering))
        {
            if (budget.SpentUsd >= budget.MaxCostUsd || budget.SpentUsd + sureCost > budget.MaxCostUsd)
            {
                var holdMs = Math.Max(1000, (long)(budget.PeriodEnd - now).TotalMilliseconds);
                return new Hold(budget, Reason(budget, sureCost), holdMs);
            }
        }

        return null;
    }

    /// <summary>
    /// Batch tasks gathered to go together (-AsBatch), in order: each is held when its scope's spend, plus what the tasks
    /// before it that go are sure to cost, has reached a cap or would pass it with its own sure cost (a batch's answers all
    /// come at once, so none of them counts before the batch ends). One hold or null per task.
    /// </summary>
    public IReadOnlyList<Hold?> CheckGathered(IReadOnlyList<(string? Name, Func<decimal> SureCost)> tasks)
    {
        var holds = new Hold?[tasks.Count];
        var cached = Rows(fresh: false);
        if (!tasks.Any(t => cached.Any(r => Covers(r, t.Name))))
        {
            return holds; // no budget covers any of them: nothing to read, no prompt to count
        }

        var budgets = Measure(Rows(fresh: true));
        var going = budgets.ToDictionary(b => b.Id, _ => 0m); // what the tasks that go are sure to cost, per budget
        var now = time.GetUtcNow();
        for (var i = 0; i < tasks.Count; i++)
        {
            var covering = budgets.Where(b => b.Covers(tasks[i].Name)).ToList();
            if (covering.Count == 0)
            {
                continue;
            }

            var sure = tasks[i].SureCost();
            var passed = covering.FirstOrDefault(b => b.SpentUsd + going[b.Id] >= b.MaxCostUsd || b.SpentUsd + going[b.Id] + sure > b.MaxCostUsd);
            if (passed is not null)
            {
                holds[i] = new Hold(passed, Reason(passed, sure), Math.Max(1000, (long)(passed.PeriodEnd - now).TotalMilliseconds));
                continue;
            }

            foreach (var budget in covering)
            {
                going[budget.Id] += sure;
            }
        }

        return holds;
    }

    public static string Reason(LlmBudget budget, decimal sureCost)
    {
        var sure = sureCost > 0 && budget.SpentUsd < budget.MaxCostUsd
            ? string.Create(CultureInfo.InvariantCulture, $"; its call would cost at least {sureCost:0.00####}")
            : string.Empty;
        return string.Create(CultureInfo.InvariantCulture,
            $"Waiting for budget '{budget.Period}' of '{budget.Scope}' ({budget.SpentUsd:0.00####} USD spent of {budget.MaxCostUsd:0.00####}{sure}; the period turns at {budget.PeriodEnd:yyyy-MM-dd HH:mm} UTC).")
            + " The task runs then, or as soon as Set-LlmBudget raises the cap or Remove-LlmBudget removes it.";
    }

    private static bool Covers(BudgetRow row, string? taskName) =>
        new LlmBudget { Id = row.Id, Scope = row.Scope, Period = Parse(row.Period), MaxCostUsd = row.MaxCostUsd }.Covers(taskName);

    private IReadOnlyList<BudgetRow> Rows(bool fresh)
    {
        lock (_gate)
        {
            if (!fresh && _rows is { } cached && Environment.TickCount64 - _readAt < CacheFor.TotalMilliseconds)
            {
                return cached;
            }
        }

        var rows = store.GetBudgets();
        lock (_gate)
        {
            _rows = rows;
            _readAt = Environment.TickCount64;
        }

        return rows;
    }

    private IReadOnlyList<LlmBudget> Measure(IReadOnlyList<BudgetRow> rows)
    {
        var now = time.GetUtcNow();
        var spends = new Dictionary<DateTimeOffset, IReadOnlyList<(string? Name, decimal CostUsd)>>();
        var budgets = new List<LlmBudget>();
        foreach (var row in rows)
        {
            var period = Parse(row.Period);
            var start = BudgetPeriods.Start(period, now);
            if (!spends.TryGetValue(start, out var spend))
            {
                spends[start] = spend = store.SpendByName(start.ToUnixTimeMilliseconds());
            }

            var budget = new LlmBudget
            {
                Id = row.Id,
                Scope = row.Scope,
                Period = period,
                MaxCostUsd = row.MaxCostUsd,
                PeriodStart = start,
                PeriodEnd = BudgetPeriods.End(period, now),
                StorePath = store.Path,
            };
            budgets.Add(new LlmBudget
            {
                Id = budget.Id,
                Scope = budget.Scope,
                Period = budget.Period,
                MaxCostUsd = budget.MaxCostUsd,
                PeriodStart = budget.PeriodStart,
                PeriodEnd = budget.PeriodEnd,
                StorePath = budget.StorePath,
                SpentUsd = spend.Where(s => budget.Covers(s.Name)).Sum(s => s.CostUsd),
            });
        }

        return budgets;
    }

    private static BudgetPeriod Parse(string period) => Enum.Parse<BudgetPeriod>(period, ignoreCase: true);
}

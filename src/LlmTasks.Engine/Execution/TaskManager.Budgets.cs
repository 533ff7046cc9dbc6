using LlmTasks.Execution.Budgets;
using LlmTasks.Execution.Limits;
using LlmTasks.Providers.Pricing;
using LlmTasks.Storage;

namespace LlmTasks.Execution;

/// <summary>
/// The store's budgets (Set/Get/Remove-LlmBudget) and their check before a task's run: a task whose scope spent its cap in
/// the current period is held (Pending, leased to <c>budget:&lt;id&gt;</c> until the period turns) with the reason as its Error.
/// </summary>
public sealed partial class TaskManager
{
    /// <summary>The store's budgets, with what each scope spent in the current period.</summary>
    public IReadOnlyList<LlmBudget> Budgets() => _budgets.All();

    /// <summary>Adds or changes the budget of a scope and period; every task a budget held is checked again.</summary>
    public LlmBudget SetBudget(string scope, BudgetPeriod period, decimal maxCostUsd)
    {
        scope = ValidBudgetScope(scope);
        if (maxCostUsd < 0 || maxCostUsd > 1_000_000_000m)
        {
            throw new LlmTasksException(ErrorIds.InvalidBudget, LlmErrorCategory.InvalidArgument,
                $"Invalid budget: -MaxCostUsd must be from 0 to 1,000,000,000 USD, not {maxCostUsd}.") { Target = maxCostUsd };
        }

        WritableStore();
        var row = _store.SetBudget(scope, period.ToString(), maxCostUsd);
        _budgets.Changed();
        _worker.Poke();
        return _budgets.All().First(b => b.Id == row.Id);
    }

    /// <summary>Removes the budget of a scope and period (false: there was none); every task a budget held is checked again.</summary>
    public bool RemoveBudget(string scope, BudgetPeriod period)
    {
        WritableStore();
        var removed = _store.RemoveBudget(scope.Trim(), period.ToString());
        _budgets.Changed();
        _worker.Poke();
        return removed;
    }

    /// <summary>The secrets (-ApiKey) of tasks started here that a budget holds, for when this process takes them again.</summary>
    private readonly System.Collections.Concurrent.ConcurrentDictionary<long, TaskSecrets> _heldSecrets = new();

    private TaskSecrets? HeldSecrets(long id) => _heldSecrets.TryRemove(id, out var secrets) ? secrets : null;

    private void WritableStore()
    {
        if (_store.IsReadOnly)
        {
            throw StoreErrors.ReadOnly(_store.Path, _store.ReadOnlyReason ?? "read-only");
        }
    }

    private static string ValidBudgetScope(string scope)
    {
        var trimmed = scope?.Trim() ?? string.Empty;
        if (trimmed.Length == 0)
        {
            throw new LlmTasksException(ErrorIds.InvalidBudget, LlmErrorCategory.InvalidArgument,
                "Invalid budget: -Scope must be 'store' (every task of the store) or a task name, wildcards allowed ('reviews*').") { Target = scope };
        }

        try
        {
            _ = Wildcard.Parse(trimmed, "-Scope");
        }
        catch (LlmTasksException e)
        {
            throw new LlmTasksException(ErrorIds.InvalidBudget, LlmErrorCategory.InvalidArgument, $"Invalid budget: {e.Message}", e) { Target = scope };
        }

        return string.Equals(trimmed, LlmBudget.StoreScope, StringComparison.OrdinalIgnoreCase) ? LlmBudget.StoreScope : trimmed;
    }

    /// <summary>
    /// Before a run: holds the task back when a budget of its scope is spent (or its call's sure cost would pass it). True
    /// when the task was held (or could not be held because it is no longer this process's): it is not run.
    /// </summary>
    private bool HeldByBudget(ActiveTask task)
    {
        if (_budgets.Check(task.Task.Name, () => SureCost(task, batch: false)) is not { } hold)
        {
            return false;
        }

        Hold(task, hold);
        return true;
    }

    /// <summary>
    /// Before gathered batch tasks are sent: those a budget holds back (their scope's spend, with what the tasks before them
    /// in the batch are sure to cost, would pass a cap) are held as a live task would be; the others are returned to go.
    /// </summary>
    private List<ActiveTask> NotHeldByBudget(List<ActiveTask> tasks)
    {
        var holds = _budgets.CheckGathered(tasks.Select(t => (t.Task.Name, (Func<decimal>)(() => SureCost(t, batch: true)))).ToList());
        var going = new List<ActiveTask>(tasks.Count);
        for (var i = 0; i < tasks.Count; i++)
        {
            if (holds[i] is { } hold)
            {
                Hold(tasks[i], hold);
            }
            else
            {
                going.Add(tasks[i]);
            }
        }

        return going;
    }

    /// <summary>What a task's call is sure to cost: its prompt, and -MaxTokens of answer (nothing for unpriced models).</summary>
    private static decimal SureCost(ActiveTask task, bool batch)
    {
        var request = task.Task.Request;
        return task.Model is { } model && request.MockResponse is null && ModelPrices.Cost(model, 1, 0, batch) is not null
            ? ModelPrices.Cost(model, TokenEstimate.Count(request.Messages), request.MaxTokens ?? 0, batch) ?? 0
            : 0;
    }

    /// <summary>Holds the task Pending, leased to the budget until its period turns, with the reason as its Error.</summary>
    private void Hold(ActiveTask task, BudgetGuard.Hold hold)
    {
        if (_store.HoldTask(task.Id, Owner, hold.Budget.HoldOwner, hold.HoldMs, hold.Reason) is not null && task.Secrets is { } secrets)
        {
            _heldSecrets[task.Id] = secrets; // a key given to Start-LlmTask (-ApiKey) lives only here: the run after the hold needs it
        }

        Diagnostics.EngineEvents.Verbose(() => $"Task {task.Id}: {hold.Reason}", StorePath);
    }
}

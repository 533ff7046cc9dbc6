using LlmTasks.Execution;
using LlmTasks.Execution.Budgets;
using LlmTasks.Storage;
using LlmTasks.Tests.Doubles;
using Microsoft.Extensions.Time.Testing;

namespace LlmTasks.Tests.Budgets;

/// <summary>
/// Budgets per store or task name per period, on both backends, on a fake clock: spend (the cost of the attempts that
/// started in the period) that reaches a budget holds the next task of its scope Pending with the reason (not Failed);
/// the period turning, a raised cap or a removed budget lets it run; tasks outside the scope run; a second manager on
/// the store sees the same budget and spend.
/// </summary>
public abstract class BudgetTests(StoreKind kind) : IDisposable
{
    public sealed class OnSqlite() : BudgetTests(StoreKind.Sqlite);

    public sealed class OnPostgres() : BudgetTests(StoreKind.Postgres);

    private readonly TempStore _temp = new(kind);
    private readonly FakeTimeProvider _time = new(DateTimeOffset.UtcNow);

    public void Dispose() => _temp.Dispose();

    private TaskManager Open() => Managers.Open(_temp.Path, new TaskManagerOptions { Time = _time });

    /// <summary>A task of this name that ran and (as the attempts table says) cost this much.</summary>
    private void Spent(TaskManager manager, string name, decimal usd)
    {
        var done = Managers.WaitAll(manager, [manager.Start(Managers.Request("paid", name: name)).Id]).Single();
        Assert.Equal(LlmTaskState.Completed, done.State);
        _temp.Sql("UPDATE attempts SET cost_nanousd = $cost WHERE task_id = $id", ("$cost", (long)(usd * 1_000_000_000m)), ("$id", done.Id));
    }

    private static LlmTask HeldBack(TaskManager manager, long id)
    {
        LlmTask? task = null;
        Assert.True(SpinWait.SpinUntil(() => (task = manager.Store.Get(id))?.ErrorKind == "BudgetHold", TimeSpan.FromSeconds(30)), $"task {id} should be held: {task?.State} {task?.Error}");
        return task!;
    }

    [Fact]
    public void Spend_that_reaches_a_name_budget_holds_the_next_task_of_its_scope_pending_with_the_reason_and_it_runs_when_the_period_turns()
    {
        using var manager = Open();
        Spent(manager, "reviews-1", 5m);
        var budget = manager.SetBudget("reviews*", BudgetPeriod.Day, 5m);
        Assert.Equal((5m, 5m, 0m, true), (budget.SpentUsd, budget.MaxCostUsd, budget.RemainingUsd, budget.IsExhausted));
        Assert.Equal(BudgetPeriods.End(BudgetPeriod.Day, _time.GetUtcNow()), budget.PeriodEnd);

        var held = manager.Start(Managers.Request("next", name: "reviews-2")).Id;
        var outside = manager.Start(Managers.Request("free", name: "other")).Id;
        var task = HeldBack(manager, held);
        Assert.Equal(LlmTaskState.Pending, task.State);
        Assert.Contains("Waiting for budget 'Day' of 'reviews*' (5.00 USD spent of 5.00", task.Error);
        Assert.Empty(manager.Store.GetAttempts(held)); // no call was made
        Assert.StartsWith("budget:", manager.Store.LeaseStates([held]).Single().Owner);
        Assert.Equal(LlmTaskState.Completed, Managers.WaitAll(manager, [outside]).Single().State); // outside the scope: not held

        _time.Advance(TimeSpan.FromDays(1));
        if (kind == StoreKind.Postgres)
        {
            // The hold's lease is on the server's clock, which the fake clock does not move: the period's end, as it would come.
            _temp.Sql("UPDATE tasks SET lease_expires_at = 0 WHERE lease_owner LIKE 'budget:%'");
        }

        var ran = Managers.WaitAll(manager, [held]).Single();
        Assert.Equal((LlmTaskState.Completed, 1), (ran.State, ran.Attempts));
        Assert.Null(ran.Error);
        Assert.Equal(0m, manager.Budgets().Single().SpentUsd); // a new period: the earlier attempts are not in it
    }

    [Fact]
    public void Raising_the_cap_lets_a_held_task_run_at_once_and_removing_a_store_budget_does_too()
    {
        using var manager = Open();
        Spent(manager, "a", 2m);
        manager.SetBudget("store", BudgetPeriod.Month, 1m);
        var first = manager.Start(Managers.Request("one", name: "b")).Id;
        HeldBack(manager, first);
        manager.SetBudget("STORE", BudgetPeriod.Month, 3m); // the same budget (scopes ignore case), a higher cap
        Assert.Equal(LlmTaskState.Completed, Managers.WaitAll(manager, [first]).Single().State);
        Assert.Equal(3m, Assert.Single(manager.Budgets()).MaxCostUsd);

        manager.SetBudget("store", BudgetPeriod.Month, 2m);
        var second = manager.Start(Managers.Request("two")).Id; // unnamed: the store scope covers it
        Assert.Contains("'Month' of 'store'", HeldBack(manager, second).Error);
        Assert.True(manager.RemoveBudget("store", BudgetPeriod.Month));
        Assert.Equal(LlmTaskState.Completed, Managers.WaitAll(manager, [second]).Single().State);
        Assert.False(manager.RemoveBudget("store", BudgetPeriod.Month));
        Assert.Empty(manager.Budgets());
    }

    [Fact]
    public void A_budget_set_by_one_manager_holds_the_tasks_another_manager_on_the_store_runs()
    {
        using var one = Open();
        using var two = Open();
        Spent(one, "job-1", 1m);
        one.SetBudget("job-*", BudgetPeriod.Hour, 1m);
        var seen = Assert.Single(two.Budgets());
        Assert.Equal(("job-*", BudgetPeriod.Hour, 1m, 1m), (seen.Scope, seen.Period, seen.MaxCostUsd, seen.SpentUsd));

        var id = two.Start(Managers.Request("x", name: "job-2")).Id;
        Assert.Contains("'Hour' of 'job-*'", HeldBack(two, id).Error);
        one.RemoveBudget("job-*", BudgetPeriod.Hour);
        Assert.Equal(LlmTaskState.Completed, Managers.WaitAll(two, [id]).Single().State);
    }

    [Fact]
    public void Bad_budgets_are_refused_with_their_own_error_id_and_nothing_is_stored()
    {
        using var manager = Open();
        Assert.Equal(ErrorIds.InvalidBudget, Assert.Throws<LlmTasksException>(() => manager.SetBudget("x", BudgetPeriod.Day, -1m)).ErrorId);
        Assert.Equal(ErrorIds.InvalidBudget, Assert.Throws<LlmTasksException>(() => manager.SetBudget(" ", BudgetPeriod.Day, 1m)).ErrorId);
        Assert.Equal(ErrorIds.InvalidBudget, Assert.Throws<LlmTasksException>(() => manager.SetBudget("a[b", BudgetPeriod.Day, 1m)).ErrorId);
        Assert.Empty(manager.Budgets());
    }

    [Theory]
    [InlineData("2026-12-02T07:15:00Z", BudgetPeriod.Hour, "2026-12-02T07:00:00Z", "2026-12-02T08:00:00Z")]
    [InlineData("2026-12-02T07:15:00Z", BudgetPeriod.Day, "2026-12-02T00:00:00Z", "2026-12-03T00:00:00Z")]
    [InlineData("2026-12-02T07:15:00Z", BudgetPeriod.Week, "2026-11-30T00:00:00Z", "2026-12-07T00:00:00Z")] // Monday
    [InlineData("2026-12-06T23:59:00Z", BudgetPeriod.Week, "2026-11-30T00:00:00Z", "2026-12-07T00:00:00Z")] // Sunday
    [InlineData("2026-12-31T23:00:00Z", BudgetPeriod.Month, "2026-12-01T00:00:00Z", "2027-01-01T00:00:00Z")]
    public void Periods_are_UTC_hours_days_weeks_from_Monday_and_calendar_months(string now, BudgetPeriod period, string start, string end)
    {
        var at = DateTimeOffset.Parse(now, System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(DateTimeOffset.Parse(start, System.Globalization.CultureInfo.InvariantCulture), BudgetPeriods.Start(period, at));
        Assert.Equal(DateTimeOffset.Parse(end, System.Globalization.CultureInfo.InvariantCulture), BudgetPeriods.End(period, at));
    }
    [Theory]
    [InlineData(StoreKind.Sqlite)]
    [InlineData(StoreKind.Postgres)]
    public void Repair_carries_the_budgets_into_the_new_store_which_holds_tasks_to_the_same_caps(StoreKind into)
    {
        using (var manager = Open())
        {
            Spent(manager, "Reviews-1", 5m);
            manager.SetBudget("Reviews*", BudgetPeriod.Day, 5m);
            manager.SetBudget("store", BudgetPeriod.Month, 100m);
        }

        using var target = new TempStore(into);
        var destination = into == StoreKind.Sqlite ? Path.Combine(target.Folder, "repaired.db") : target.Path;
        var result = StoreRecovery.Recover(_temp.Path, destination);
        Assert.Equal((1, 2, 0), (result.TasksRecovered, result.BudgetsRecovered, result.BudgetsLost));

        using var repaired = Managers.Open(destination, new TaskManagerOptions { Time = _time });
        Assert.Equal(
            [("Reviews*", BudgetPeriod.Day, 5m, 5m), ("store", BudgetPeriod.Month, 100m, 5m)],
            repaired.Budgets().Select(b => (b.Scope, b.Period, b.MaxCostUsd, b.SpentUsd)).OrderBy(b => b.Scope, StringComparer.Ordinal));
        var held = repaired.Start(Managers.Request("next", name: "reviews-2")).Id; // the scope matches without regard to case, as before
        Assert.Contains("Waiting for budget 'Day' of 'Reviews*'", HeldBack(repaired, held).Error);

        repaired.SetBudget("reviews*", BudgetPeriod.Day, 10m); // the same budget (one per scope and period, any case), spelled as last set
        repaired.SetBudget("other", BudgetPeriod.Hour, 1m); // a new row: the id counter is past the copied ids
        Assert.Equal([("other", 1m), ("reviews*", 10m), ("store", 100m)],
            repaired.Budgets().Select(b => (b.Scope, b.MaxCostUsd)).OrderBy(b => b.Scope, StringComparer.Ordinal));
        Assert.Equal(LlmTaskState.Completed, Managers.WaitAll(repaired, [held]).Single().State);
    }
    [Fact]
    public async Task Batch_tasks_a_budget_would_pass_are_held_before_the_batch_is_sent_counting_the_sure_cost_of_those_that_go()
    {
        var fake = new FakeBatchProvider();
        var quick = new TaskManagerOptions { BatchWindow = TimeSpan.FromMilliseconds(300), BatchPollMin = TimeSpan.FromMilliseconds(50), BatchPollMax = TimeSpan.FromMilliseconds(200) };
        using var manager = Managers.Open(_temp.Path, quick, fake);
        Spent(manager, "reviews-0", 1m);
        // Each call of openai/gpt-4o-mini with -MaxTokens 10,000 is sure to cost over 0.003 USD at the batch price (0.30 per
        // million output tokens, half the live price): room for two of the three, not for the third.
        manager.SetBudget("reviews*", BudgetPeriod.Day, 1.007m);
        LlmTaskRequest Batched(string prompt, string name) => Managers.Request(prompt, "openai/gpt-4o-mini", name) with { Batch = true, MaxTokens = 10_000 };
        var ids = new[] { ("r1", "reviews-1"), ("r2", "reviews-2"), ("r3", "reviews-3"), ("o1", "other") }.Select(t => manager.Start(Batched(t.Item1, t.Item2)).Id).ToList();

        var sent = fake.WaitForBatches(1).Single();
        Assert.Equal(["o1", "r1", "r2"], sent.Requests.Select(r => r.Request.Prompt).Order(StringComparer.Ordinal));
        var held = HeldBack(manager, ids[2]);
        Assert.Equal(LlmTaskState.Pending, held.State);
        Assert.Contains("Waiting for budget 'Day' of 'reviews*' (1.00 USD spent of 1.007; its call would cost at least 0.003", held.Error);

        sent.Complete();
        Assert.All(Managers.WaitAll(manager, [ids[0], ids[1], ids[3]]), t => Assert.Equal(LlmTaskState.Completed, t.State));
        manager.SetBudget("reviews*", BudgetPeriod.Day, 10m); // raised: the held task, taken by a wait, is gathered into a batch of its own
        var waiting = Task.Run(() => Managers.WaitAll(manager, [ids[2]]));
        var next = fake.WaitForBatches(2).Single(b => !ReferenceEquals(b, sent));
        Assert.Equal(["r3"], next.Requests.Select(r => r.Request.Prompt));
        next.Complete();
        var ran = (await waiting).Single();
        Assert.Equal((LlmTaskState.Completed, (string?)null), (ran.State, ran.Error));
    }
}

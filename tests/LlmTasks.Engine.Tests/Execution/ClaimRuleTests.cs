using System.Diagnostics;
using LlmTasks.Execution;
using LlmTasks.Storage;
using LlmTasks.Tests.Doubles;

namespace LlmTasks.Tests.Execution;

/// <summary>
/// Who runs a store's tasks: opening a store runs nothing; a wait runs the tasks it waits for that no
/// live process holds; a worker runs the store's left-over work and hands it back when it stops; an
/// owner on this machine whose process is gone loses its tasks at once, whatever its lease says.
/// Two managers on one file stand for two processes (one pid, so both are alive to each other).
/// </summary>
public abstract class ClaimRuleTests(StoreKind kind) : IDisposable
{
    /// <summary>The tests on a SQLite file.</summary>
    public sealed class OnSqlite() : ClaimRuleTests(StoreKind.Sqlite);

    /// <summary>The same tests on a PostgreSQL database.</summary>
    public sealed class OnPostgres() : ClaimRuleTests(StoreKind.Postgres);

    private static readonly TaskManagerOptions Fast = new() { PollInterval = TimeSpan.FromMilliseconds(50) };
    private readonly TempStore _temp = new(kind);

    public void Dispose() => _temp.Dispose();


    /// <summary>Left-over work as an exited process leaves it: Pending, unleased.</summary>
    private List<long> Seed(int count, string model = "test/x", string? name = null)
    {
        using var store = TaskStore.Open(_temp.Path);
        return Enumerable.Range(0, count).Select(i => store.Insert(Managers.Request($"{name ?? "left"} {i}", model, name), model.Split('/')[0], owner: null, leaseMs: null).Id).ToList();
    }

    /// <summary>The owner string a process on this machine with that pid and start would have written.</summary>
    private static string LocalOwner(int pid, long start) => $"{LeaseOwner.Parse(LeaseOwner.ForThisProcess())!.Host}:{pid}:{start}:0ddba11";

    private static int PidOfAnExitedProcess()
    {
        using var process = Process.Start(new ProcessStartInfo("true") { UseShellExecute = false })!;
        process.WaitForExit();
        return process.Id;
    }

    private static long HourFromNow => DateTimeOffset.UtcNow.AddHours(1).ToUnixTimeMilliseconds();

    [Fact]
    public void Opening_and_reading_a_store_claims_nothing_and_starts_no_thread()
    {
        var ids = Seed(5);
        var deadOwner = LocalOwner(PidOfAnExitedProcess(), 1);
        _temp.Sql("UPDATE tasks SET lease_owner = $o, lease_expires_at = $e WHERE id = $id", ("$o", deadOwner), ("$e", HourFromNow), ("$id", ids[0]));
        _temp.Sql("UPDATE tasks SET state = 'Running', started_at = 1, lease_owner = 'gone:1:x', lease_expires_at = 1 WHERE id = $id", ("$id", ids[1]));

        var provider = new ScriptedProvider();
        using var manager = Managers.Open(_temp.Path, provider);
        _ = manager.Store.Query(TaskQuery.All);
        _ = manager.Store.GetAttempts(ids[0]);
        _ = StorePeek.DistinctNames(_temp.Path, string.Empty); // what completion reads
        Thread.Sleep(500); // ten poll intervals

        Assert.False(manager.IsRunning);
        Assert.Equal(0, provider.Calls);
        var tasks = manager.Store.Query(TaskQuery.All).ToDictionary(t => t.Id);
        Assert.Equal((LlmTaskState.Pending, deadOwner), (tasks[ids[0]].State, tasks[ids[0]].Owner));
        Assert.Equal((LlmTaskState.Running, "gone:1:x"), (tasks[ids[1]].State, tasks[ids[1]].Owner));
        Assert.All(ids.Skip(2), id => Assert.Equal((LlmTaskState.Pending, (string?)null), (tasks[id].State, tasks[id].Owner)));
        Assert.All(ids, id => Assert.Empty(manager.Store.GetAttempts(id)));
    }

    [Fact]
    public void A_wait_runs_the_left_over_tasks_it_waits_for_and_no_others()
    {
        var ids = Seed(10);
        var provider = new ScriptedProvider();
        using var manager = Managers.Open(_temp.Path, provider);
        var done = Managers.WaitAll(manager, ids.Take(3));

        Assert.All(done, t => Assert.Equal(LlmTaskState.Completed, t.State));
        Thread.Sleep(300);
        Assert.Equal(3, provider.Calls);
        Assert.All(manager.Store.Query(new TaskQuery { Ids = ids.Skip(3).ToArray() }), t => Assert.Equal((LlmTaskState.Pending, (string?)null), (t.State, t.Owner)));
    }

    [Fact]
    public void A_wait_leaves_tasks_a_live_process_holds_and_says_which_process_and_until_when()
    {
        var release = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var held = new ScriptedProvider { Behaviour = (_, _) => release.Task };
        using var holder = Managers.Open(_temp.Path, held);
        var id = holder.Start(Managers.Request("mine", "test/x")).Id;
        SpinWait.SpinUntil(() => held.Calls == 1, TimeSpan.FromSeconds(30));

        var other = new ScriptedProvider();
        using var waiter = Managers.Open(_temp.Path, Fast, other);
        using var watch = waiter.Watch([id]);
        Assert.True(SpinWait.SpinUntil(() => watch.HeldElsewhere.Count == 1, TimeSpan.FromSeconds(30)), "the wait should see who holds the task");
        var holding = watch.HeldElsewhere.Single();
        Assert.Equal((holder.Owner, 1), (holding.Owner, holding.Count));
        Assert.True(holding.LeaseExpiresAt > DateTime.Now);
        Assert.Contains($"held by process {Environment.ProcessId} on ", holding.ToString());
        Assert.Equal(0, watch.HeldHere);

        Thread.Sleep(300); // several passes: still the holder's
        Assert.Equal(0, other.Calls);
        release.SetResult("done by the holder");
        var done = watch.Next(TimeSpan.FromSeconds(30), CancellationToken.None)!.Task!;
        Assert.Equal((LlmTaskState.Completed, "done by the holder"), (done.State, done.Output));
        Assert.Single(waiter.Store.GetAttempts(id));
    }

    [Theory]
    [InlineData(false)] // the pid no longer exists
    [InlineData(true)] // the pid exists, but it is another process (this one, started at another time): a reused pid
    public void Tasks_of_a_process_on_this_machine_that_is_gone_are_taken_at_once_although_their_lease_has_not_expired(bool reusedPid)
    {
        var ids = Seed(2);
        var dead = reusedPid ? LocalOwner(Environment.ProcessId, 12345) : LocalOwner(PidOfAnExitedProcess(), 12345);
        _temp.Sql("UPDATE tasks SET state = 'Running', started_at = 1, lease_owner = $o, lease_expires_at = $e WHERE id = $id", ("$o", dead), ("$e", HourFromNow), ("$id", ids[0]));
        _temp.Sql("UPDATE tasks SET lease_owner = $o, lease_expires_at = $e WHERE id = $id", ("$o", dead), ("$e", HourFromNow), ("$id", ids[1]));

        var provider = new ScriptedProvider();
        using var manager = Managers.Open(_temp.Path, provider);
        var done = Managers.WaitAll(manager, ids, seconds: 30).ToDictionary(t => t.Id);

        Assert.All(done.Values, t => Assert.Equal(LlmTaskState.Completed, t.State));
        var interrupted = manager.Store.GetAttempts(ids[0]);
        Assert.Equal([LlmAttemptOutcome.Interrupted, LlmAttemptOutcome.Succeeded], interrupted.Select(a => a.Outcome));
        Assert.Equal(dead, interrupted[0].Owner);
        Assert.Contains("no longer running", interrupted[0].Error);
        Assert.Equal([LlmAttemptOutcome.Succeeded], manager.Store.GetAttempts(ids[1]).Select(a => a.Outcome)); // Pending: nothing was cut off
    }

    [Fact]
    public void A_gone_owners_task_still_counts_against_the_recovery_limit()
    {
        var id = Seed(1).Single();
        _temp.Sql("UPDATE tasks SET state = 'Running', started_at = 1, recoveries = 3, lease_owner = $o, lease_expires_at = $e WHERE id = $id",
            ("$o", LocalOwner(PidOfAnExitedProcess(), 1)), ("$e", HourFromNow), ("$id", id));
        using var manager = Managers.Open(_temp.Path, new TaskManagerOptions { RecoveryLimit = 3 });
        var done = Managers.WaitAll(manager, [id], seconds: 30).Single();
        Assert.Equal((LlmTaskState.Failed, "Interrupted"), (done.State, done.ErrorKind));
        Assert.Contains("recovery limit of 3", done.Error);
    }

    [Fact]
    public void An_owner_on_another_machine_keeps_its_tasks_until_its_lease_runs_out()
    {
        var id = Seed(1).Single();
        _temp.Sql("UPDATE tasks SET lease_owner = 'elsewhere:1:1:x', lease_expires_at = $e WHERE id = $id", ("$e", HourFromNow), ("$id", id));
        var provider = new ScriptedProvider();
        using var manager = Managers.Open(_temp.Path, Fast, provider);
        using var watch = manager.Watch([id]);
        Assert.True(SpinWait.SpinUntil(() => watch.HeldElsewhere.Count == 1, TimeSpan.FromSeconds(30)));
        Thread.Sleep(300);
        Assert.Equal(0, provider.Calls);

        _temp.Sql("UPDATE tasks SET lease_expires_at = 1 WHERE id = $id", ("$id", id)); // time travel: its lease ran out
        var done = watch.Next(TimeSpan.FromSeconds(30), CancellationToken.None)!.Task!;
        Assert.Equal(LlmTaskState.Completed, done.State);
        Assert.Equal(1, provider.Calls);
    }

    [Fact]
    public void The_owner_string_names_host_pid_and_start_and_tells_a_live_process_from_a_gone_one()
    {
        var mine = LeaseOwner.Parse(LeaseOwner.ForThisProcess())!;
        Assert.Equal(Environment.ProcessId, mine.ProcessId);
        Assert.NotNull(mine.Start);
        Assert.True(mine.IsThisMachine);
        Assert.False(mine.IsGone());
        Assert.Equal($"process {Environment.ProcessId} on {Environment.MachineName}", mine.ToString());

        Assert.True(LeaseOwner.Parse($"{mine.Host}:{Environment.ProcessId}:{mine.Start + 500}:x")!.IsGone()); // same pid, another process
        Assert.True(LeaseOwner.Parse($"{mine.Host}:{PidOfAnExitedProcess()}:{mine.Start}:x")!.IsGone());
        Assert.False(LeaseOwner.Parse($"another-machine:{PidOfAnExitedProcess()}:1:x")!.IsGone()); // cannot tell: its lease decides

        var old = LeaseOwner.Parse($"{mine.Host}:{Environment.ProcessId}:abcdef12")!; // written by an earlier version
        Assert.Equal((Environment.ProcessId, (long?)null), (old.ProcessId, old.Start));
        Assert.False(old.IsGone());
        Assert.Null(LeaseOwner.Parse("not an owner"));
        Assert.Equal("process 7 on h", LeaseOwner.Describe("h:7:1:x"));
    }

    [Fact]
    public void A_worker_runs_the_left_over_work_until_none_is_left_and_counts_what_it_did()
    {
        var good = Seed(12);
        var bad = Seed(3, "mock/fail");
        var provider = new ScriptedProvider();
        using var manager = Managers.Open(_temp.Path, Fast with { Concurrency = 4 }, provider);
        using var worker = manager.StartWorker();
        Assert.True(SpinWait.SpinUntil(() => worker.IsEmpty, TimeSpan.FromSeconds(60)), "the worker should run out of work");
        var summary = worker.Stop("QueueEmpty");

        Assert.Equal((15, 12, 3, 0, 0, 0), (summary.Claimed, summary.Completed, summary.Failed, summary.Cancelled, summary.Recovered, summary.HandedBack));
        Assert.Equal(("QueueEmpty", manager.Owner, _temp.Display), (summary.EndReason, summary.Owner, summary.StorePath));
        Assert.True(summary.Duration > TimeSpan.Zero);
        Assert.All(manager.Store.Query(TaskQuery.All), t => Assert.True(t.State.IsTerminal()));
        Assert.Equal(12, provider.Calls);
        Assert.All(good.Concat(bad), id => Assert.Single(manager.Store.GetAttempts(id)));
    }

    [Fact]
    public void A_worker_takes_only_the_tasks_its_name_and_model_wildcards_match()
    {
        var nightly = Seed(3, "test/x", "nightly-report");
        var other = Seed(2, "test/x", "adhoc");
        var mock = Seed(2, "mock/echo", "nightly-mock");
        var provider = new ScriptedProvider();
        using var manager = Managers.Open(_temp.Path, Fast, provider);
        using var worker = manager.StartWorker(names: ["NIGHTLY*"], models: ["test/*"]);
        Assert.True(SpinWait.SpinUntil(() => worker.IsEmpty, TimeSpan.FromSeconds(60)));

        Assert.Equal(3, worker.Stop().Completed);
        var tasks = manager.Store.Query(TaskQuery.All).ToDictionary(t => t.Id);
        Assert.All(nightly, id => Assert.Equal(LlmTaskState.Completed, tasks[id].State));
        Assert.All(other.Concat(mock), id => Assert.Equal((LlmTaskState.Pending, (string?)null), (tasks[id].State, tasks[id].Owner)));
    }

    [Fact]
    public void A_worker_leaves_tasks_a_live_process_holds_and_counts_as_empty()
    {
        var release = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var held = new ScriptedProvider { Behaviour = (_, _) => release.Task };
        using var holder = Managers.Open(_temp.Path, held);
        var id = holder.Start(Managers.Request("mine", "test/x")).Id;

        var other = new ScriptedProvider();
        using var manager = Managers.Open(_temp.Path, Fast, other);
        using var worker = manager.StartWorker();
        Assert.True(SpinWait.SpinUntil(() => worker.IsEmpty, TimeSpan.FromSeconds(30)));
        Assert.Equal((0, 0), (worker.Claimed, other.Calls));
        Assert.Equal(holder.Owner, manager.Store.Get(id)!.Owner);
        release.SetResult("x");
    }

    [Fact]
    public void A_stopped_worker_hands_back_what_it_holds_but_tasks_started_here_keep_running()
    {
        var gate = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var blocked = new ScriptedProvider { Behaviour = async (p, ct) => { await Task.Delay(Timeout.Infinite, ct); return p; } };
        var left = Seed(6);
        using var manager = Managers.Open(_temp.Path, Fast with { Concurrency = 4 }, blocked);
        var mine = manager.Start(Managers.Request("started here", "test/x")).Id;
        var worker = manager.StartWorker();
        Assert.True(SpinWait.SpinUntil(() => blocked.Calls == 4, TimeSpan.FromSeconds(30)), "four calls at once: this task's and three of the worker's");
        Assert.Equal(6, worker.Claimed);

        var summary = worker.Stop();
        Assert.Equal((6, 6, 0), (summary.Claimed, summary.HandedBack, summary.Completed));
        var tasks = manager.Store.Query(TaskQuery.All).ToDictionary(t => t.Id);
        Assert.All(left, id => Assert.Equal((LlmTaskState.Pending, (string?)null), (tasks[id].State, tasks[id].Owner)));
        var interrupted = left.Where(id => manager.Store.GetAttempts(id).Count == 1).ToList();
        Assert.Equal(3, interrupted.Count); // the three running calls are on record; the three queued ones made none
        Assert.All(interrupted, id => Assert.Equal(LlmAttemptOutcome.Interrupted, manager.Store.GetAttempts(id).Single().Outcome));
        Assert.Equal((LlmTaskState.Running, manager.Owner), (tasks[mine].State, tasks[mine].Owner));
        Thread.Sleep(300);
        Assert.Equal(4, blocked.Calls); // handed back means not run here again
        gate.SetResult("unused");
    }

    [Fact]
    public void A_wait_that_claimed_tasks_shares_them_with_another_processs_worker_without_running_any_twice()
    {
        var ids = Seed(200);
        var shared = new ScriptedProvider { Behaviour = async (p, ct) => { await Task.Delay(2, ct); return p; } };
        using var waiting = Managers.Open(_temp.Path, Fast, shared);
        using var working = Managers.Open(_temp.Path, Fast, shared);
        using var worker = working.StartWorker();
        var done = Managers.WaitAll(waiting, ids);

        Assert.All(done, t => Assert.Equal(LlmTaskState.Completed, t.State));
        Assert.Equal(200, shared.Calls);
        Assert.All(ids, id => Assert.Single(waiting.Store.GetAttempts(id)));
    }

    [Fact]
    public void Stop_ends_at_once_a_task_whose_process_is_gone()
    {
        var id = Seed(1).Single();
        _temp.Sql("UPDATE tasks SET state = 'Running', started_at = 1, lease_owner = $o, lease_expires_at = $e WHERE id = $id",
            ("$o", LocalOwner(PidOfAnExitedProcess(), 1)), ("$e", HourFromNow), ("$id", id));
        using var manager = Managers.Open(_temp.Path);
        var result = manager.Stop([id]);

        Assert.Empty(result.RequestedElsewhere);
        Assert.Equal((LlmTaskState.Cancelled, "Cancelled"), (result.Cancelled.Single().State, result.Cancelled.Single().ErrorKind));
        Assert.Equal(LlmAttemptOutcome.Interrupted, manager.Store.GetAttempts(id).Single().Outcome);
    }
}

using LlmTasks.Execution;
using LlmTasks.Storage;
using LlmTasks.Tests.Doubles;

namespace LlmTasks.Tests.Execution;

/// <summary>Two managers on one file stand for two processes: each has its own owner id, connection and leases.</summary>
public abstract class SharedStoreTests(StoreKind kind) : IDisposable
{
    /// <summary>The tests on a SQLite file.</summary>
    public sealed class OnSqlite() : SharedStoreTests(StoreKind.Sqlite);

    /// <summary>The same tests on a PostgreSQL database.</summary>
    public sealed class OnPostgres() : SharedStoreTests(StoreKind.Postgres);

    private readonly TempStore _temp = new(kind);

    public void Dispose() => _temp.Dispose();


    [Fact]
    public void Pending_work_left_by_a_process_that_exited_is_run_by_the_next_one()
    {
        var blocked = new ScriptedProvider { Behaviour = async (p, ct) => { await Task.Delay(Timeout.Infinite, ct); return p; } };
        var first = Managers.Open(_temp.Path, new TaskManagerOptions { Concurrency = 2 }, blocked);
        var ids = Enumerable.Range(0, 10).Select(i => first.Start(Managers.Request($"p{i}", "test/x")).Id).ToList();
        SpinWait.SpinUntil(() => blocked.Calls == 2, TimeSpan.FromSeconds(30));
        first.Dispose(); // shutdown: the 2 running calls are interrupted, all 10 go back to Pending, unleased

        using var store = TaskStore.Open(_temp.Path);
        Assert.All(store.Query(new TaskQuery { Ids = ids }), t => Assert.Equal((LlmTaskState.Pending, (string?)null), (t.State, t.Owner)));

        var echo = new ScriptedProvider();
        using var second = Managers.Open(_temp.Path, echo);
        var done = Managers.WaitAll(second, ids);
        Assert.All(done, t => Assert.Equal(LlmTaskState.Completed, t.State));
        Assert.Equal(10, echo.Calls);

        var interrupted = ids.Select(id => second.Store.GetAttempts(id)).Where(a => a.Count == 2).ToList();
        Assert.Equal(2, interrupted.Count);
        Assert.All(interrupted, a => Assert.Equal([LlmAttemptOutcome.Interrupted, LlmAttemptOutcome.Succeeded], a.Select(x => x.Outcome)));
    }

    [Fact]
    public void Two_managers_sharing_unclaimed_work_run_each_task_exactly_once()
    {
        using (var seed = TaskStore.Open(_temp.Path))
        {
            for (var i = 0; i < 300; i++)
            {
                seed.Insert(Managers.Request($"t{i}", "test/x"), "test", owner: null, leaseMs: null);
            }
        }

        var shared = new ScriptedProvider { Behaviour = async (p, ct) => { await Task.Delay(2, ct); return p; } };
        using var a = Managers.Open(_temp.Path, shared);
        using var b = Managers.Open(_temp.Path, shared);
        using var workerA = a.StartWorker(); // two Invoke-LlmTaskWorker processes on one store
        using var workerB = b.StartWorker();
        var all = a.Store.Query(TaskQuery.All).Select(t => t.Id).ToList();
        var done = Managers.WaitAll(a, all);

        Assert.All(done, t => Assert.Equal(LlmTaskState.Completed, t.State));
        Assert.Equal(300, shared.Calls);
        Assert.Equal(300, shared.Prompts.Distinct().Count());
        Assert.All(all, id => Assert.Single(a.Store.GetAttempts(id)));
        var owners = all.Select(id => a.Store.GetAttempts(id).Single().Owner).Distinct().ToList();
        Assert.Equal(2, owners.Count); // both processes took a share
    }

    [Fact]
    public void A_running_task_whose_lease_expired_is_recovered_with_an_Interrupted_attempt()
    {
        long id;
        using (var store = TaskStore.Open(_temp.Path))
        {
            id = store.Insert(Managers.Request("crashed mid-call"), "mock", "dead-host:1:x", 0).Id;
        }

        // What a process killed mid-call leaves behind: Running, leased by an owner that will never renew.
        _temp.Sql("UPDATE tasks SET state = 'Running', started_at = 1, lease_expires_at = 1 WHERE id = $id", ("$id", id));

        using var manager = Managers.Open(_temp.Path);
        var done = Managers.WaitAll(manager, [id]).Single();
        Assert.Equal((LlmTaskState.Completed, "crashed mid-call", 2), (done.State, done.Output, done.Attempts));
        var attempts = manager.Store.GetAttempts(id);
        Assert.Equal([LlmAttemptOutcome.Interrupted, LlmAttemptOutcome.Succeeded], attempts.Select(a => a.Outcome));
        Assert.Equal("dead-host:1:x", attempts[0].Owner);
    }

    [Fact]
    public void A_task_interrupted_more_often_than_the_recovery_limit_fails()
    {
        long id;
        using (var store = TaskStore.Open(_temp.Path))
        {
            id = store.Insert(Managers.Request("poison"), "mock", "dead:1:x", 0).Id;
        }

        _temp.Sql("UPDATE tasks SET state = 'Running', started_at = 1, lease_expires_at = 1, recoveries = 3 WHERE id = $id", ("$id", id));
        using var manager = Managers.Open(_temp.Path, new TaskManagerOptions { RecoveryLimit = 3 });
        var done = Managers.WaitAll(manager, [id]).Single();
        Assert.Equal((LlmTaskState.Failed, "Interrupted"), (done.State, done.ErrorKind));
        Assert.Contains("recovery limit of 3", done.Error);
    }

    [Fact]
    public void A_renewed_lease_keeps_a_long_call_from_being_taken_over()
    {
        var release = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var slow = new ScriptedProvider { Behaviour = (_, _) => release.Task };
        // A 1 s lease, renewed every 333 ms: at 300 ms a CI box that stalled the owner's store thread for one lease length
        // (two cores, parallel test classes, a PostgreSQL commit) let the thief take over rightly, and the test failed.
        var options = new TaskManagerOptions { Lease = TimeSpan.FromSeconds(1) };
        using var owner = Managers.Open(_temp.Path, options, slow);
        var id = owner.Start(Managers.Request("long", "test/x")).Id;
        SpinWait.SpinUntil(() => slow.Calls == 1, TimeSpan.FromSeconds(30));

        var other = new ScriptedProvider();
        using var thief = Managers.Open(_temp.Path, options, other);
        using var thiefWorker = thief.StartWorker(); // it takes whatever no live process holds
        using var thiefWait = thief.Watch([id]); // and a wait there would take it too, if it were not held
        Thread.Sleep(3500); // three and a half lease lengths: without renewal the other manager would take it

        Assert.Equal(0, other.Calls);
        Assert.Equal(LlmTaskState.Running, owner.Store.Get(id)!.State);
        Assert.Equal(owner.Owner, owner.Store.Get(id)!.Owner);
        release.SetResult("finished by the owner");
        Assert.Equal("finished by the owner", Managers.WaitAll(owner, [id]).Single().Output);
        Assert.Single(owner.Store.GetAttempts(id));
    }

    [Fact]
    public void A_late_result_from_a_process_that_lost_its_lease_is_recorded_but_not_applied()
    {
        var release = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var stuck = new ScriptedProvider { Behaviour = (_, _) => release.Task };
        using var late = Managers.Open(_temp.Path, new TaskManagerOptions { Lease = TimeSpan.FromHours(1) }, stuck);
        var id = late.Start(Managers.Request("twice?", "test/x")).Id;
        SpinWait.SpinUntil(() => slow(late, id), TimeSpan.FromSeconds(30));

        // Time travel: the lease looks expired to everyone else (as after a long GC pause or a suspended laptop).
        _temp.Sql("UPDATE tasks SET lease_expires_at = 1 WHERE id = $id", ("$id", id));
        var rescuer = new ScriptedProvider { Behaviour = (_, _) => Task.FromResult("first result") };
        using var other = Managers.Open(_temp.Path, rescuer);
        var first = Managers.WaitAll(other, [id]).Single();
        Assert.Equal("first result", first.Output);

        release.SetResult("late duplicate");
        SpinWait.SpinUntil(() => other.Store.GetAttempts(id).Count == 3, TimeSpan.FromSeconds(30));
        var final = other.Store.Get(id)!;
        Assert.Equal((LlmTaskState.Completed, "first result"), (final.State, final.Output));
        Assert.Equal([LlmAttemptOutcome.Interrupted, LlmAttemptOutcome.Succeeded, LlmAttemptOutcome.Discarded],
            other.Store.GetAttempts(id).Select(a => a.Outcome));
        var discarded = other.Store.GetAttempts(id)[2];
        Assert.Equal("late duplicate", discarded.Output);
        Assert.Equal("Discarded: the task had already ended (Completed) elsewhere; this result came too late.", discarded.Error);

        static bool slow(TaskManager m, long id) => m.Store.Get(id)!.State == LlmTaskState.Running;
    }

    [Fact]
    public void A_call_stopped_because_another_process_took_its_task_over_says_so_not_that_a_user_stopped_it()
    {
        // A paused process (SIGSTOP, a suspended laptop): its lease lapsed and another process took the task over.
        // When it wakes, its heartbeat finds the task gone and stops its call; nobody ran Stop-LlmTask.
        var provider = new ScriptedProvider { Behaviour = async (p, ct) => { await Task.Delay(Timeout.Infinite, ct); return p; } };
        using var paused = Managers.Open(_temp.Path, new TaskManagerOptions { Lease = TimeSpan.FromMilliseconds(600) }, provider);
        var id = paused.Start(Managers.Request("who stopped me?", "test/x")).Id;
        Assert.True(SpinWait.SpinUntil(() => provider.Calls == 1 && paused.Store.Get(id)!.State == LlmTaskState.Running, TimeSpan.FromSeconds(30)));
        const string taker = "other-host:4242:0badcafe";
        _temp.Sql("UPDATE tasks SET lease_owner = $owner, lease_expires_at = $far WHERE id = $id", ("$owner", taker), ("$far", DateTimeOffset.UtcNow.AddDays(1).ToUnixTimeMilliseconds()), ("$id", id));

        Assert.True(SpinWait.SpinUntil(() => paused.Store.GetAttempts(id).Count == 1, TimeSpan.FromSeconds(30)), "the lost call was never recorded");
        var discarded = paused.Store.GetAttempts(id).Single();
        Assert.Equal(LlmAttemptOutcome.Discarded, discarded.Outcome);
        Assert.Equal($"Discarded: this process's lease on the task lapsed and {taker} took it over; this result was not applied.", discarded.Error);
        Assert.DoesNotContain("Stop-LlmTask", discarded.Error);
        var task = paused.Store.Get(id)!;
        Assert.Equal((LlmTaskState.Running, taker), (task.State, task.Owner)); // the task is the other process's, untouched
    }

    [Fact]
    public void Stop_from_another_process_reaches_a_running_call_at_the_next_heartbeat()
    {
        var provider = new ScriptedProvider { Behaviour = async (p, ct) => { await Task.Delay(Timeout.Infinite, ct); return p; } };
        using var runner = Managers.Open(_temp.Path, new TaskManagerOptions { Lease = TimeSpan.FromMilliseconds(300) }, provider);
        var id = runner.Start(Managers.Request("stop me", "test/x")).Id;
        SpinWait.SpinUntil(() => provider.Calls == 1 && runner.Store.Get(id)!.State == LlmTaskState.Running, TimeSpan.FromSeconds(30));

        using var other = Managers.Open(_temp.Path, new TaskManagerOptions { ClaimStoreWork = false });
        var result = other.Stop([id]);
        Assert.Equal([id], result.RequestedElsewhere);
        var done = Managers.WaitAll(other, [id]).Single();
        Assert.Equal(LlmTaskState.Cancelled, done.State);
    }

    [Fact]
    public void A_queued_task_cancelled_by_another_process_is_not_completed_even_if_its_call_began()
    {
        var gate = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var provider = new ScriptedProvider { Behaviour = (p, _) => p == "first" ? gate.Task : Task.FromResult(p) };
        using var runner = Managers.Open(_temp.Path, new TaskManagerOptions { Concurrency = 1 }, provider);
        var first = runner.Start(Managers.Request("first", "test/x"));
        var queued = runner.Start(Managers.Request("queued", "test/x"));
        SpinWait.SpinUntil(() => provider.Calls == 1, TimeSpan.FromSeconds(30));

        using (var other = Managers.Open(_temp.Path, new TaskManagerOptions { ClaimStoreWork = false }))
        {
            Assert.Equal([queued.Id], other.Stop([queued.Id]).Cancelled.Select(t => t.Id));
        }

        gate.SetResult("first done"); // frees the slot: the runner dispatches the cancelled task
        var done = Managers.WaitAll(runner, [first.Id, queued.Id]).ToDictionary(t => t.Id);
        Assert.Equal(LlmTaskState.Completed, done[first.Id].State);
        Assert.Equal(LlmTaskState.Cancelled, done[queued.Id].State);
        Thread.Sleep(200); // let any late write land
        var final = runner.Store.Get(queued.Id)!;
        Assert.Equal((LlmTaskState.Cancelled, (string?)null), (final.State, final.Output));
        // If its call began before the store said no, the call is on record, as Discarded; nothing else changed.
        Assert.All(runner.Store.GetAttempts(queued.Id), a => Assert.Equal(LlmAttemptOutcome.Discarded, a.Outcome));
        Assert.Equal(provider.Prompts.Count(p => p == "queued"), runner.Store.GetAttempts(queued.Id).Count);
    }

    [Fact]
    public void A_task_asked_to_stop_whose_process_exits_before_its_heartbeat_ends_Cancelled_not_stranded()
    {
        var provider = new ScriptedProvider { Behaviour = async (p, ct) => { await Task.Delay(Timeout.Infinite, ct); return p; } };
        var runner = Managers.Open(_temp.Path, new TaskManagerOptions { Lease = TimeSpan.FromHours(1) }, provider); // no heartbeat in this test
        var id = runner.Start(Managers.Request("stop me", "test/x")).Id;
        SpinWait.SpinUntil(() => runner.Store.Get(id)!.State == LlmTaskState.Running, TimeSpan.FromSeconds(30));

        using (var other = Managers.Open(_temp.Path, new TaskManagerOptions { ClaimStoreWork = false }))
        {
            Assert.Equal([id], other.Stop([id]).RequestedElsewhere); // flagged; the runner would see it at its heartbeat
        }

        runner.Dispose(); // ...but it exits first: the call is interrupted and the task handed back
        using var store = TaskStore.Open(_temp.Path);
        var task = store.Get(id)!;
        Assert.Equal((LlmTaskState.Cancelled, "Cancelled"), (task.State, task.ErrorKind));
        // Interrupted when the exit came first; Cancelled when the stop reached the runner first (PostgreSQL's
        // notification makes it renew at once): either way one attempt, and the task is not stranded.
        Assert.Contains(store.GetAttempts(id).Single().Outcome, new[] { LlmAttemptOutcome.Interrupted, LlmAttemptOutcome.Cancelled });
    }

    [Fact]
    public void A_task_stopped_while_queued_and_then_restarted_runs_its_new_series()
    {
        var gate = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var provider = new ScriptedProvider { Behaviour = (p, _) => p == "first" ? gate.Task : Task.FromResult("ran: " + p) };
        using var manager = Managers.Open(_temp.Path, new TaskManagerOptions { Concurrency = 1 }, provider);
        var first = manager.Start(Managers.Request("first", "test/x"));
        var queued = manager.Start(Managers.Request("queued", "test/x"));
        SpinWait.SpinUntil(() => provider.Calls == 1, TimeSpan.FromSeconds(30));

        Assert.Equal([queued.Id], manager.Stop([queued.Id]).Cancelled.Select(t => t.Id));
        Assert.Equal([queued.Id], manager.Restart([queued.Id]).Select(t => t.Id)); // its old entry is still in the lane
        gate.SetResult("first done");

        var done = Managers.WaitAll(manager, [first.Id]).Single();
        Assert.Equal(LlmTaskState.Completed, done.State);
        Assert.True(SpinWait.SpinUntil(() => manager.Store.Get(queued.Id)!.State.IsTerminal(), TimeSpan.FromSeconds(30)));
        var restarted = manager.Store.Get(queued.Id)!;
        Assert.Equal((LlmTaskState.Completed, "ran: queued"), (restarted.State, restarted.Output));
        Assert.Equal([LlmAttemptOutcome.Succeeded], manager.Store.GetAttempts(queued.Id).Select(a => a.Outcome));
    }
    [Fact]
    public void A_task_restarted_while_a_lease_renewal_that_found_it_stopped_is_under_way_still_runs()
    {
        // The renewal reads the store while the queued task is Cancelled (so it is "lost" to this owner);
        // the restart lands before the renewal acts on that answer. Only the entry the renewal read may be
        // cancelled, not the restart's new one. (On PostgreSQL the stop's notification starts such a renewal
        // at once, which is how this failed one CI run in many.)
        var gate = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var provider = new ScriptedProvider { Behaviour = (p, _) => p == "first" ? gate.Task : Task.FromResult("ran: " + p) };
        long queuedId = 0;
        using var renewalRead = new ManualResetEventSlim();
        using var restarted = new ManualResetEventSlim();
        var options = new TaskManagerOptions { Concurrency = 1, Lease = TimeSpan.FromSeconds(3), PollInterval = TimeSpan.FromMilliseconds(50) }.WithOneClock();
        var store = InterceptingStore.Wrap(StoreBackends.Default.Open(StoreLocation.Resolve(_temp.Path), options.Store), nameof(ITaskStore.RenewLeases), result =>
        {
            var (_, lost) = ((IReadOnlyList<long>, IReadOnlyList<long>))result!;
            if (lost.Contains(Volatile.Read(ref queuedId)) && !renewalRead.IsSet)
            {
                renewalRead.Set();
                restarted.Wait(TimeSpan.FromSeconds(30)); // the restart happens here, between the read and its use
            }
        });
        using var manager = TaskManager.Open(store, options, new LlmTasks.Providers.ProviderRegistry([new LlmTasks.Providers.Mock.MockProvider(), provider]));
        var first = manager.Start(Managers.Request("first", "test/x"));
        var queued = manager.Start(Managers.Request("queued", "test/x"));
        Volatile.Write(ref queuedId, queued.Id);
        Assert.True(SpinWait.SpinUntil(() => provider.Calls == 1, TimeSpan.FromSeconds(30)));

        Assert.Equal([queued.Id], manager.Stop([queued.Id]).Cancelled.Select(t => t.Id));
        Assert.True(renewalRead.Wait(TimeSpan.FromSeconds(30)), "no lease renewal read the stopped task"); // one comes within a heartbeat (1 s)
        Assert.Equal([queued.Id], manager.Restart([queued.Id]).Select(t => t.Id));
        restarted.Set();
        gate.SetResult("first done");

        Assert.Equal(LlmTaskState.Completed, Managers.WaitAll(manager, [first.Id]).Single().State);
        Assert.True(SpinWait.SpinUntil(() => manager.Store.Get(queued.Id)!.State.IsTerminal(), TimeSpan.FromSeconds(15)), "the restarted task never ran");
        Assert.Equal((LlmTaskState.Completed, "ran: queued"), (manager.Store.Get(queued.Id)!.State, manager.Store.Get(queued.Id)!.Output));
    }

    [Fact]
    public void A_running_task_stopped_and_restarted_at_once_runs_its_new_series()
    {
        // The stopped call takes a moment to give up (as an HTTP call does), so its Cancelled result
        // is still being written when the restart comes: it must not land on the new series.
        var calls = 0;
        var provider = new ScriptedProvider
        {
            Behaviour = async (p, token) =>
            {
                if (Interlocked.Increment(ref calls) > 1)
                {
                    return "ran: " + p;
                }

                try
                {
                    await Task.Delay(Timeout.Infinite, token);
                }
                catch (OperationCanceledException)
                {
                    await Task.Delay(300, CancellationToken.None);
                    throw;
                }

                return "never";
            },
        };
        using var manager = Managers.Open(_temp.Path, provider);
        var task = manager.Start(Managers.Request("slow", "test/x"));
        SpinWait.SpinUntil(() => provider.Calls == 1, TimeSpan.FromSeconds(30));
        manager.Stop([task.Id]);

        var restarted = Assert.Single(manager.Restart([task.Id]));
        var done = Managers.WaitAll(manager, [restarted.Id]).Single();
        Assert.Equal((LlmTaskState.Completed, "ran: slow"), (done.State, done.Output));
    }
}

using LlmTasks.Execution;
using LlmTasks.Storage;
using LlmTasks.Tests.Doubles;

namespace LlmTasks.Tests.Execution;

public abstract class TaskManagerTests(StoreKind kind) : IDisposable
{
    /// <summary>The tests on a SQLite file.</summary>
    public sealed class OnSqlite() : TaskManagerTests(StoreKind.Sqlite);

    /// <summary>The same tests on a PostgreSQL database.</summary>
    public sealed class OnPostgres() : TaskManagerTests(StoreKind.Postgres);

    private readonly TempStore _temp = new(kind);

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void Mock_echo_completes_with_the_prompt_usage_and_one_attempt()
    {
        using var manager = Managers.Open(_temp.Path);
        var task = manager.Start(Managers.Request("hello there"));
        Assert.Equal(LlmTaskState.Pending, task.State);

        var done = Managers.WaitAll(manager, [task.Id]).Single();
        Assert.Equal(LlmTaskState.Completed, done.State);
        Assert.Equal("hello there", done.Output);
        Assert.Equal(1, done.Attempts);
        Assert.True(done.InputTokens > 0 && done.OutputTokens > 0);
        Assert.NotNull(done.StartedAt);
        Assert.NotNull(done.CompletedAt);
        Assert.Null(done.Owner);

        var attempt = Assert.Single(manager.Store.GetAttempts(task.Id));
        Assert.Equal(LlmAttemptOutcome.Succeeded, attempt.Outcome);
        Assert.Equal("hello there", attempt.Output);
        Assert.Contains("hello there", attempt.RequestJson);
        Assert.NotNull(attempt.Latency);
    }

    [Fact]
    public void Mock_response_answers_any_model_offline_and_mock_fail_fails_with_a_kind()
    {
        var openai = new ScriptedProvider("openai"); // a known provider: with -MockResponse it is never called
        using var manager = Managers.Open(_temp.Path, openai);
        var fixedTask = manager.Start(Managers.Request("q", "openai/gpt-4o-mini") with { MockResponse = "canned" });
        var failing = manager.Start(Managers.Request("q", "mock/fail"));
        var done = Managers.WaitAll(manager, [fixedTask.Id, failing.Id]).ToDictionary(t => t.Id);

        Assert.Equal("canned", done[fixedTask.Id].Output);
        Assert.Equal(0, openai.Calls);
        Assert.Equal(LlmTaskState.Failed, done[failing.Id].State);
        Assert.Equal("ProviderError", done[failing.Id].ErrorKind);
        Assert.Contains("mock/fail", done[failing.Id].Error);
        Assert.Equal(LlmAttemptOutcome.Failed, manager.Store.GetAttempts(failing.Id).Single().Outcome);
    }

    [Fact]
    public void A_call_over_its_timeout_fails_as_Timeout()
    {
        using var manager = Managers.Open(_temp.Path);
        var task = manager.Start(Managers.Request("slow", "mock/delay:5000") with { TimeoutSec = 0.2 });
        var done = Managers.WaitAll(manager, [task.Id]).Single();
        Assert.Equal(LlmTaskState.Failed, done.State);
        Assert.Equal("Timeout", done.ErrorKind);
        Assert.Contains("-TimeoutSec 0.2", done.Error);
    }

    [Theory]
    [InlineData("nope/model", ErrorIds.UnknownProvider)]
    [InlineData("no-prefix", ErrorIds.InvalidModel)]
    [InlineData("mock/whatever", ErrorIds.InvalidModel)]
    public void Bad_models_are_refused_before_anything_is_stored(string model, string errorId)
    {
        using var manager = Managers.Open(_temp.Path);
        var error = Assert.Throws<LlmTasksException>(() => manager.Start(Managers.Request("x", model)));
        Assert.Equal(errorId, error.ErrorId);
        Assert.Equal(LlmErrorCategory.InvalidArgument, error.Category);
        Assert.Empty(manager.Store.Query(TaskQuery.All));
    }

    [Fact]
    public void Bad_requests_are_refused_with_their_own_ids()
    {
        using var manager = Managers.Open(_temp.Path);
        Assert.Equal(ErrorIds.EmptyPrompt, Assert.Throws<LlmTasksException>(() => manager.Start(Managers.Request("  "))).ErrorId);
        Assert.Equal(ErrorIds.InvalidTimeout, Assert.Throws<LlmTasksException>(() => manager.Start(Managers.Request("x") with { TimeoutSec = -1 })).ErrorId);
        Assert.Equal(ErrorIds.InvalidMaxTokens, Assert.Throws<LlmTasksException>(() => manager.Start(Managers.Request("x") with { MaxTokens = 0 })).ErrorId);
        // Values that used to be stored and then fail every run, or never end.
        Assert.Equal(ErrorIds.InvalidTimeout, Assert.Throws<LlmTasksException>(() => manager.Start(Managers.Request("x") with { TimeoutSec = 4_294_968 })).ErrorId);
        Assert.Equal(ErrorIds.InvalidTimeout, Assert.Throws<LlmTasksException>(() => manager.Start(Managers.Request("x") with { TimeoutSec = double.PositiveInfinity })).ErrorId);
        Assert.Equal(ErrorIds.InvalidTimeout, Assert.Throws<LlmTasksException>(() => manager.Start(Managers.Request("x") with { TimeoutSec = double.NaN })).ErrorId);
        Assert.Equal(ErrorIds.InvalidTemperature, Assert.Throws<LlmTasksException>(() => manager.Start(Managers.Request("x") with { Temperature = double.NaN })).ErrorId);
        Assert.Equal(ErrorIds.InvalidTemperature, Assert.Throws<LlmTasksException>(() => manager.Start(Managers.Request("x") with { Temperature = 2.01 })).ErrorId);
        Assert.Equal(ErrorIds.InvalidMaxTurns, Assert.Throws<LlmTasksException>(() => manager.Start(Managers.Request("x", "max/sonnet") with
        {
            ProviderOptions = new ProviderOptions { MaxTurns = 0 },
        })).ErrorId);
        Assert.Equal(ErrorIds.InvalidVerification, Assert.Throws<LlmTasksException>(() => manager.Start(Managers.Request("x") with
        {
            Verification = new LlmTasks.Verification.VerificationPlan { Checks = [new LlmTasks.Verification.CheckSpec { Type = "NotEmpty" }], MaxAttempts = 101 },
        })).ErrorId);
        Assert.Equal(ErrorIds.UnknownProvider, Assert.Throws<LlmTasksException>(() => manager.Start(Managers.Request("x", "bogus/x") with { MockResponse = "canned" })).ErrorId);
        Assert.Equal(ErrorIds.PromptTooLarge, Assert.Throws<LlmTasksException>(() => manager.Start(Managers.Request(new string('p', 64 * 1024 * 1024 + 1)))).ErrorId);
        Assert.Equal(ErrorIds.EmptyPrompt, Assert.Throws<LlmTasksException>(() => manager.Start(new LlmTaskRequest
        {
            Model = "mock/echo",
            Messages = [new(LlmRole.System, "only a system message")],
        })).ErrorId);
        Assert.Empty(manager.Store.Query(TaskQuery.All));
    }

    [Fact]
    public void A_restart_with_changes_stores_the_new_request_and_every_attempt_keeps_what_it_sent()
    {
        using var manager = Managers.Open(_temp.Path);
        var task = manager.Start(Managers.Request("again please", "mock/fail") with { Temperature = 0.1 });
        Assert.Equal(LlmTaskState.Failed, Managers.WaitAll(manager, [task.Id]).Single().State);

        var restarted = Assert.Single(manager.Restart([task.Id], r => r with { Model = "mock/echo", TimeoutSec = 30, Temperature = 0.7 }));
        Assert.Equal("mock/echo", restarted.Model);
        var done = Managers.WaitAll(manager, [task.Id]).Single();
        Assert.Equal((LlmTaskState.Completed, "again please"), (done.State, done.Output));
        var stored = manager.Store.Get(task.Id)!;
        Assert.Equal(("mock/echo", 30.0, 0.7), (stored.Model, stored.Request.TimeoutSec!.Value, stored.Request.Temperature!.Value));

        var attempts = manager.Store.GetAttempts(task.Id);
        Assert.Equal(2, attempts.Count);
        Assert.Contains("\"model\":\"mock/fail\"", attempts[0].RequestJson); // the first call's request, not the new one
        Assert.Contains("\"temperature\":0.1", attempts[0].RequestJson);
        Assert.Contains("\"model\":\"mock/echo\"", attempts[1].RequestJson);
        Assert.Contains("\"temperature\":0.7", attempts[1].RequestJson);
    }

    [Theory]
    [InlineData("nope/x", "LlmTaskUnknownProvider")]
    [InlineData("mock/echo", "LlmTaskInvalidTimeout")]
    public void A_restart_with_bad_changes_is_refused_and_changes_nothing(string model, string errorId)
    {
        using var manager = Managers.Open(_temp.Path);
        var task = manager.Start(Managers.Request("q", "mock/fail"));
        Managers.WaitAll(manager, [task.Id]);

        var error = Assert.Throws<LlmTasksException>(() => manager.Restart([task.Id], r => r with { Model = model, TimeoutSec = model == "mock/echo" ? -1 : null }));
        Assert.Equal(errorId, error.ErrorId);
        var stored = manager.Store.Get(task.Id)!;
        Assert.Equal((LlmTaskState.Failed, "mock/fail", (double?)null), (stored.State, stored.Request.Model, stored.Request.TimeoutSec));
    }

    [Fact]
    public void A_continuation_sends_the_conversation_the_answer_and_the_new_turn_and_needs_a_completed_task()
    {
        using var manager = Managers.Open(_temp.Path);
        var first = manager.Start(new LlmTaskRequest
        {
            Model = "mock/echo",
            Messages = [new(LlmRole.System, "be brief"), new(LlmRole.User, "hello")],
            Temperature = 0.3,
            Verification = new LlmTasks.Verification.VerificationPlan { Checks = [new LlmTasks.Verification.CheckSpec { Type = "NotEmpty" }] },
        });
        var done = Managers.WaitAll(manager, [first.Id]).Single();

        var next = Continuation.From(done, [new LlmMessage(LlmRole.User, "now in French")], keyGiven: false);
        Assert.Equal(
            [new(LlmRole.System, "be brief"), new(LlmRole.User, "hello"), new(LlmRole.Assistant, "hello"), new LlmMessage(LlmRole.User, "now in French")],
            next.Messages);
        Assert.Equal(("mock/echo", 0.3), (next.Model, next.Temperature!.Value));
        Assert.Null(next.Verification); // it said what a good answer to the first prompt was

        var failed = Managers.WaitAll(manager, [manager.Start(Managers.Request("x", "mock/fail")).Id]).Single();
        Assert.Equal("LlmTaskNotContinuable", Assert.Throws<LlmTasksException>(() => Continuation.From(failed, [], false)).ErrorId);
        var keyed = Managers.WaitAll(manager, [manager.Start(Managers.Request("x") with { ApiKeyGiven = true }).Id]).Single();
        Assert.Equal("LlmTaskMissingApiKey", Assert.Throws<LlmTasksException>(() => Continuation.From(keyed, [], false)).ErrorId);
        Assert.True(Continuation.From(keyed, [], keyGiven: true).ApiKeyGiven);
    }

    [Fact]
    public void A_task_stored_with_a_timeout_longer_than_a_timer_can_take_still_runs_and_completes()
    {
        // Stored before -TimeoutSec had an upper bound (4,294,968 s and more cannot be a timer): it must not become a poison task.
        using (var store = TaskStore.Open(_temp.Path))
        {
            store.Insert(Managers.Request("old request") with { TimeoutSec = 5_000_000 }, "mock", owner: null, leaseMs: null);
        }

        using var manager = Managers.Open(_temp.Path);
        var id = manager.Store.Query(TaskQuery.All).Single().Id;
        var done = Managers.WaitAll(manager, [id]).Single();
        Assert.Equal((LlmTaskState.Completed, "old request", 1), (done.State, done.Output, done.Attempts));
    }

    [Fact]
    public void The_global_limit_bounds_calls_at_once_and_can_change_while_work_queues()
    {
        var provider = new ScriptedProvider { Behaviour = async (p, ct) => { await Task.Delay(40, ct); return p; } };
        using var manager = Managers.Open(_temp.Path, new TaskManagerOptions { Concurrency = 3 }, provider);
        var ids = Enumerable.Range(0, 30).Select(i => manager.Start(Managers.Request($"p{i}", "test/x")).Id).ToList();
        Managers.WaitAll(manager, ids);
        Assert.Equal(30, provider.Calls);
        Assert.InRange(provider.MaxInFlight, 2, 3);

        var wider = new ScriptedProvider("wide") { Behaviour = async (p, ct) => { await Task.Delay(40, ct); return p; } };
        using var second = Managers.Open(Path.Combine(_temp.Folder, "other.db"), new TaskManagerOptions { Concurrency = 1 }, wider);
        var more = Enumerable.Range(0, 40).Select(i => second.Start(Managers.Request($"q{i}", "wide/x")).Id).ToList();
        second.Concurrency = 10;
        Managers.WaitAll(second, more);
        Assert.True(wider.MaxInFlight > 3, $"raising the limit let only {wider.MaxInFlight} run at once");
    }

    [Fact]
    public void A_provider_limit_holds_its_own_lane_without_blocking_other_providers()
    {
        var gate = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var slow = new ScriptedProvider("slow", concurrency: 1) { Behaviour = (_, _) => gate.Task };
        using var manager = Managers.Open(_temp.Path, new TaskManagerOptions { Concurrency = 4 }, slow);
        var slowIds = Enumerable.Range(0, 5).Select(i => manager.Start(Managers.Request($"s{i}", "slow/x")).Id).ToList();
        var echoIds = Enumerable.Range(0, 20).Select(i => manager.Start(Managers.Request($"e{i}")).Id).ToList();

        // The echo tasks finish while the slow provider is stuck at its limit of one.
        Assert.Equal(20, Managers.WaitAll(manager, echoIds).Count(t => t.State == LlmTaskState.Completed));
        Assert.Equal(1, slow.Calls);
        gate.SetResult("done");
        Managers.WaitAll(manager, slowIds);
        Assert.Equal(1, slow.MaxInFlight);
    }

    [Fact]
    public void Stop_cancels_pending_tasks_at_once_and_running_calls_through_their_token()
    {
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var provider = new ScriptedProvider
        {
            Behaviour = async (p, ct) => { started.TrySetResult(); await Task.Delay(Timeout.Infinite, ct); return p; },
        };
        using var manager = Managers.Open(_temp.Path, new TaskManagerOptions { Concurrency = 1 }, provider);
        var running = manager.Start(Managers.Request("runs", "test/x"));
        var queued = manager.Start(Managers.Request("waits", "test/x"));
        Assert.True(SpinWait.SpinUntil(() => started.Task.IsCompleted, TimeSpan.FromSeconds(30)));
        // The call starts while its Running mark commits: stop it once the store says Running.
        Assert.True(SpinWait.SpinUntil(() => manager.Store.Get(running.Id)!.State == LlmTaskState.Running, TimeSpan.FromSeconds(30)));

        var result = manager.Stop([running.Id, queued.Id]);
        Assert.Equal([queued.Id], result.Cancelled.Select(t => t.Id));
        var done = Managers.WaitAll(manager, [running.Id, queued.Id]).ToDictionary(t => t.Id);
        Assert.All(done.Values, t => Assert.Equal(LlmTaskState.Cancelled, t.State));
        Assert.Equal(LlmAttemptOutcome.Cancelled, manager.Store.GetAttempts(running.Id).Single().Outcome);
        Assert.Empty(manager.Store.GetAttempts(queued.Id));
        Assert.Equal(1, provider.Calls);
    }

    [Fact]
    public void Background_write_failures_are_kept_for_the_cmdlets_to_show()
    {
        var big = new string('x', 64 * 1024);
        var provider = new ScriptedProvider { Behaviour = (_, _) => Task.FromResult(big) }; // results larger than the room left
        var options = new TaskManagerOptions { Store = new StoreOptions { MaxSizeBytes = 512 * 1024 } };
        if (kind == StoreKind.Postgres)
        {
            // A server's disk cannot be capped from here: a trigger refuses the big results as a full disk does (SQLSTATE 53100).
            using (TaskStore.Open(_temp.Path))
            {
            }

            _temp.Sql("""
                CREATE FUNCTION llmtasks.full_disk() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN IF length(NEW.output) > 60000 THEN RAISE EXCEPTION 'could not extend file' USING ERRCODE = 'disk_full'; END IF; RETURN NEW; END $$;
                CREATE TRIGGER full_disk BEFORE UPDATE ON llmtasks.tasks FOR EACH ROW EXECUTE FUNCTION llmtasks.full_disk();
                """);
        }

        using var manager = Managers.Open(_temp.Path, options, provider);
        for (var i = 0; i < 20; i++)
        {
            manager.Start(Managers.Request($"p{i}", "test/x"));
        }

        var faults = new List<string>();
        Assert.True(SpinWait.SpinUntil(() => { faults.AddRange(manager.TakeFaults()); return faults.Count > 0; }, TimeSpan.FromSeconds(30)),
            "a completion that did not fit should have been reported");
        Assert.Contains(faults, f => f.Contains("is full", StringComparison.Ordinal));
    }
}

using LlmTasks.Storage;
using LlmTasks.Tests.Doubles;

namespace LlmTasks.Tests.Storage;

/// <summary>What every store does alike, on a SQLite file and on a PostgreSQL database: schema, queries, requests, bound values.</summary>
public abstract class TaskStoreTests(StoreKind kind) : IDisposable
{
    /// <summary>The tests on a SQLite file.</summary>
    public sealed class OnSqlite() : TaskStoreTests(StoreKind.Sqlite);

    /// <summary>The same tests on a PostgreSQL database.</summary>
    public sealed class OnPostgres() : TaskStoreTests(StoreKind.Postgres);

    private readonly TempStore _temp = new(kind);

    public void Dispose() => _temp.Dispose();

    private static LlmTaskRequest Request(string prompt, string? name = null) => Managers.Request(prompt, name: name);

    [Fact]
    public void A_batch_that_saves_partial_output_gives_every_other_write_its_own_result()
    {
        using var store = TaskStore.Open(_temp.Path);
        const string owner = "host:1:1:test";
        var running = store.Insert(Request("running"), "mock", owner, 60_000);
        var pending = store.Insert(Request("pending"), "mock", owner, 60_000);
        Assert.NotNull(store.Apply([new MarkRunning(running.Id, owner, 60_000)])[0]);

        // One batch, in task id order: the save for the lower id comes first, the mark for the higher one after it.
        // A save that returned no row set shifted every later result by one: the mark read as refused although it
        // applied, so its runner dropped the call and ended a task it held Cancelled.
        var results = store.Apply([new SavePartialOutput(running.Id, owner, "so far"), new MarkRunning(pending.Id, owner, 60_000)]);

        Assert.Null(results[0]);
        Assert.Equal(pending.Id, results[1]?.Id);
        Assert.Equal(LlmTaskState.Running, results[1]!.State);
        Assert.Equal("so far", store.Get(running.Id)!.PartialOutput);
    }

    [Fact]
    public void Inserts_applied_together_get_ids_in_their_order_and_each_keeps_its_own_request()
    {
        // PostgreSQL writes a burst's inserts as one statement: every task must still be the one its write asked for.
        using var store = TaskStore.Open(_temp.Path);
        const string owner = "host:1:1:test";
        var running = store.Insert(Request("already there"), "mock", owner, 60_000);
        var prompts = Enumerable.Range(1, 40).Select(i => $"prompt {i}").ToArray();
        var writes = new List<StoreWrite> { new MarkRunning(running.Id, owner, 60_000) };
        writes.AddRange(prompts.Select((p, i) => new InsertTask(Request(p, i % 3 == 0 ? null : $"name-{i}"), "mock", i % 2 == 0 ? owner : null, i % 2 == 0 ? 60_000 : null)));

        var results = store.Apply(writes);

        Assert.Equal((running.Id, LlmTaskState.Running), (results[0]!.Id, results[0]!.State));
        var inserted = results.Skip(1).Select(t => t!).ToArray();
        Assert.Equal(prompts, inserted.Select(t => t.Prompt));
        Assert.Equal(inserted.Select(t => t.Id).Order(), inserted.Select(t => t.Id)); // ids rise in input order
        Assert.Equal(inserted.Length, inserted.Select(t => t.InstanceId).Distinct().Count());
        for (var i = 0; i < inserted.Length; i++)
        {
            var stored = store.Get(inserted[i].Id)!;
            Assert.Equal((prompts[i], i % 3 == 0 ? null : $"name-{i}", i % 2 == 0 ? owner : null), (stored.Prompt, stored.Name, stored.Owner));
            Assert.Equal(i % 2 == 0, stored.LeaseExpiresAt is not null);
            Assert.Equal(inserted[i].InstanceId, stored.InstanceId);
            Assert.Equal(prompts[i], stored.Request.Prompt);
        }
    }

    [Fact]
    public void A_result_and_the_tries_before_it_are_numbered_in_order_and_a_result_for_a_lost_task_is_kept_as_discarded()
    {
        using var store = TaskStore.Open(_temp.Path);
        const string owner = "host:1:1:test";
        var task = store.Insert(Request("numbered"), "mock", owner, 60_000);
        var lost = store.Insert(Request("lost"), "mock", owner, 60_000);
        store.Apply([new MarkRunning(task.Id, owner, 60_000), new MarkRunning(lost.Id, owner, 60_000)]);
        AttemptRecord Call(LlmAttemptOutcome outcome, string? output, string? error = null) =>
            new() { Outcome = outcome, Output = output, Error = error, StartedAtMs = 1, LatencyMs = 5, InputTokens = 3, OutputTokens = 4 };

        var written = store.Apply([
            new RecordAttempt(task.Id, owner, Call(LlmAttemptOutcome.Failed, null, "429")),
            new FinishAttempt(task.Id, owner, Call(LlmAttemptOutcome.Succeeded, "the answer"), LlmTaskState.Completed),
            new FinishAttempt(lost.Id, "another-host:2:2:x", Call(LlmAttemptOutcome.Succeeded, "too late"), LlmTaskState.Completed),
        ]);

        Assert.Equal((LlmTaskState.Completed, "the answer", 2, 8L), (written[1]!.State, written[1]!.Output, written[1]!.Attempts, written[1]!.OutputTokens));
        Assert.Null(written[2]);
        Assert.Equal([(1, LlmAttemptOutcome.Failed, (string?)null), (2, LlmAttemptOutcome.Succeeded, "the answer")],
            store.GetAttempts(task.Id).Select(a => (a.Number, a.Outcome, a.Output)));
        var discarded = store.GetAttempts(lost.Id).Single();
        Assert.Equal((1, LlmAttemptOutcome.Discarded, "too late"), (discarded.Number, discarded.Outcome, discarded.Output));
        Assert.Equal(LlmTaskState.Running, store.Get(lost.Id)!.State);
    }

    [Fact]
    public void Reopening_keeps_tasks_and_does_not_migrate_again()
    {
        long id;
        using (var store = TaskStore.Open(_temp.Path))
        {
            id = store.Insert(Request("kept"), "mock", null, null).Id;
        }

        using (var again = TaskStore.Open(_temp.Path))
        {
            Assert.Equal("kept", again.Get(id)!.Prompt);
        }

        Assert.Equal(6L, _temp.Inspector.Scalar<long>("SELECT count(*) FROM schema_version"));
    }

    [Fact]
    public void A_store_from_a_newer_schema_is_refused_and_left_unchanged()
    {
        using (var store = TaskStore.Open(_temp.Path))
        {
            store.Insert(Request("from the future"), "mock", null, null);
        }

        _temp.Sql("INSERT INTO schema_version VALUES (99, 'future', 0)");
        if (kind == StoreKind.Sqlite)
        {
            _temp.Sql("PRAGMA wal_checkpoint(TRUNCATE)");
        }

        var before = _temp.Inspector.Fingerprint();
        var error = Assert.Throws<LlmTasksException>(() => TaskStore.Open(_temp.Path));
        Assert.Equal(ErrorIds.StoreTooNew, error.ErrorId);
        Assert.Equal(LlmErrorCategory.InvalidData, error.Category);
        Assert.Contains("99", error.Message);
        Assert.Contains(_temp.Display, error.Message);
        Assert.Equal(before, _temp.Inspector.Fingerprint());
    }

    [Fact]
    public void Queries_filter_by_name_wildcards_state_and_time_and_return_oldest_first()
    {
        using var store = TaskStore.Open(_temp.Path);
        var a = store.Insert(Request("1", "alpha-1"), "mock", null, null);
        var b = store.Insert(Request("2", "alpha-2"), "mock", null, null);
        var c = store.Insert(Request("3", "beta"), "mock", null, null);
        store.Insert(Request("4"), "mock", null, null);

        Assert.Equal([a.Id, b.Id], store.Query(new TaskQuery { Names = ["ALPHA-*"] }).Select(t => t.Id));
        Assert.Equal([a.Id, c.Id], store.Query(new TaskQuery { Names = ["alpha-1", "beta"] }).Select(t => t.Id));
        Assert.Equal([b.Id], store.Query(new TaskQuery { Names = ["alpha-[2-9]"] }).Select(t => t.Id));
        Assert.Equal([a.Id, b.Id], store.Query(new TaskQuery { Names = ["alpha-?"] }).Select(t => t.Id));
        Assert.Equal(4, store.Query(new TaskQuery { States = [LlmTaskState.Pending] }).Count);
        Assert.Empty(store.Query(new TaskQuery { States = [LlmTaskState.Completed] }));
        var newest = store.Query(new TaskQuery { Newest = 2 });
        Assert.Equal([c.Id, c.Id + 1], newest.Select(t => t.Id));
        Assert.Empty(store.Query(new TaskQuery { After = DateTime.Now.AddMinutes(1) }));
        Assert.Equal(4, store.Query(new TaskQuery { Before = DateTime.Now.AddMinutes(1) }).Count);
        Assert.Equal([b.Id], store.Query(new TaskQuery { InstanceIds = [b.InstanceId] }).Select(t => t.Id));
    }

    [Fact]
    public void Queries_filter_by_model_with_wildcards_in_any_case_together_with_other_filters()
    {
        using var store = TaskStore.Open(_temp.Path);
        var echo = store.Insert(Managers.Request("1", "mock/echo", "n"), "mock", null, null);
        var delay = store.Insert(Managers.Request("2", "mock/delay:10", "n"), "mock", null, null);
        var other = store.Insert(Managers.Request("3", "openai/gpt-4o-mini", "m"), "openai", null, null);

        Assert.Equal([echo.Id], store.Query(new TaskQuery { Models = ["MOCK/ECHO"] }).Select(t => t.Id));
        Assert.Equal([echo.Id, delay.Id], store.Query(new TaskQuery { Models = ["mock/*"] }).Select(t => t.Id));
        Assert.Equal([delay.Id, other.Id], store.Query(new TaskQuery { Models = ["mock/d*", "openai/*"] }).Select(t => t.Id));
        Assert.Equal([other.Id], store.Query(new TaskQuery { Models = ["[o]penai/*"] }).Select(t => t.Id));
        Assert.Equal([delay.Id], store.Query(new TaskQuery { Models = ["mock/*"], Names = ["n"], Newest = 1 }).Select(t => t.Id));
        Assert.Equal([delay.Id], store.Query(new TaskQuery { Models = ["[m]ock/*"], Newest = 1 }).Select(t => t.Id));
        Assert.Empty(store.Query(new TaskQuery { Models = ["mock/echo"], Names = ["m"] }));
    }

    [Fact]
    public void Requests_round_trip_through_the_store_with_every_turn()
    {
        using var store = TaskStore.Open(_temp.Path);
        var request = new LlmTaskRequest
        {
            Model = "mock/echo",
            Messages = [new(LlmRole.System, "be brief"), new(LlmRole.User, "hi"), new(LlmRole.Assistant, "hello"), new(LlmRole.User, "again")],
            Temperature = 0.5,
            MaxTokens = 42,
            TimeoutSec = 3,
            MockResponse = "fixed",
        };
        var id = store.Insert(request, "mock", null, null).Id;
        var read = store.Get(id)!.Request;
        Assert.Equal(request.Messages, read.Messages);
        Assert.Equal((0.5, 42, 3.0, "fixed"), (read.Temperature!.Value, read.MaxTokens!.Value, read.TimeoutSec!.Value, read.MockResponse));
        Assert.Equal("again", store.Get(id)!.Prompt);
    }

    [Fact]
    public void Sql_text_in_names_and_prompts_is_data_not_code()
    {
        using var store = TaskStore.Open(_temp.Path);
        var evil = "x'); DROP TABLE tasks; --";
        var id = store.Insert(Request(evil, evil), "mock", null, null).Id;
        Assert.Equal(evil, store.Query(new TaskQuery { Names = [evil] }).Single().Name);
        Assert.Equal(evil, store.Get(id)!.Prompt);
    }
}

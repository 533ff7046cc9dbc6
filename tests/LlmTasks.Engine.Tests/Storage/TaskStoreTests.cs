using LlmTasks.Storage;
using LlmTasks.Tests.Doubles;
using Microsoft.Data.Sqlite;

namespace LlmTasks.Tests.Storage;

public sealed class TaskStoreTests : IDisposable
{
    private readonly TempStore _temp = new();

    public void Dispose() => _temp.Dispose();

    private static LlmTaskRequest Request(string prompt, string? name = null) => Managers.Request(prompt, name: name);

    [Fact]
    public void New_store_is_migrated_to_the_latest_schema_in_WAL_mode()
    {
        using (TaskStore.Open(_temp.Path))
        {
        }

        using var connection = new SqliteConnection($"Data Source={_temp.Path}");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT max(version) FROM schema_version";
        Assert.Equal(4L, command.ExecuteScalar());
        command.CommandText = "PRAGMA journal_mode";
        Assert.Equal("wal", command.ExecuteScalar());
        command.CommandText = "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name LIKE 'ix_%'";
        Assert.True((long)command.ExecuteScalar()! >= 7);
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

        using var connection = new SqliteConnection($"Data Source={_temp.Path}");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT count(*) FROM schema_version";
        Assert.Equal(4L, command.ExecuteScalar());
    }

    [Fact]
    public void Store_folder_and_file_are_owner_only()
    {
        if (OperatingSystem.IsWindows())
        {
            return; // Unix permission bits; Windows relies on the per-user folder ACL
        }

        var nested = Path.Combine(_temp.Folder, "deeper", "tasks.db");
        using (TaskStore.Open(nested))
        {
        }

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(Path.GetDirectoryName(nested)!));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(nested));
    }

    [Fact]
    public void A_store_from_a_newer_schema_is_refused_and_left_unchanged()
    {
        using (var store = TaskStore.Open(_temp.Path))
        {
            store.Insert(Request("from the future"), "mock", null, null);
        }

        using (var connection = new SqliteConnection($"Data Source={_temp.Path};Pooling=False"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "INSERT INTO schema_version VALUES (99, 'future', 0); PRAGMA wal_checkpoint(TRUNCATE);";
            command.ExecuteNonQuery();
        }

        var before = File.ReadAllBytes(_temp.Path);
        var error = Assert.Throws<LlmTasksException>(() => TaskStore.Open(_temp.Path));
        Assert.Equal(ErrorIds.StoreTooNew, error.ErrorId);
        Assert.Equal(LlmErrorCategory.InvalidData, error.Category);
        Assert.Contains("99", error.Message);
        Assert.Equal(before, File.ReadAllBytes(_temp.Path));
    }

    [Fact]
    public void A_corrupt_file_is_refused_and_left_unchanged()
    {
        var garbage = Enumerable.Range(0, 4096).Select(i => (byte)(i * 7 % 251)).ToArray();
        File.WriteAllBytes(_temp.Path, garbage);
        var error = Assert.Throws<LlmTasksException>(() => TaskStore.Open(_temp.Path));
        Assert.Equal(ErrorIds.StoreCorrupt, error.ErrorId);
        Assert.Equal(garbage, File.ReadAllBytes(_temp.Path));
        Assert.False(File.Exists(_temp.Path + "-wal"));
    }

    [Fact]
    public void A_write_protected_store_can_be_read_but_not_written()
    {
        if (OperatingSystem.IsWindows())
        {
            return; // Unix permission bits; Windows relies on the per-user folder ACL
        }

        long id;
        using (var store = TaskStore.Open(_temp.Path))
        {
            id = store.Insert(Request("read me"), "mock", null, null).Id;
        }

        File.SetUnixFileMode(_temp.Path, UnixFileMode.UserRead);
        try
        {
            using var readOnly = TaskStore.Open(_temp.Path);
            Assert.True(readOnly.IsReadOnly);
            Assert.Equal("read me", readOnly.Get(id)!.Prompt);
            var error = Assert.Throws<LlmTasksException>(() => readOnly.Insert(Request("no"), "mock", null, null));
            Assert.Equal(ErrorIds.StoreReadOnly, error.ErrorId);
            Assert.Equal(LlmErrorCategory.PermissionDenied, error.Category);
            Assert.Single(readOnly.Query(TaskQuery.All));
        }
        finally
        {
            File.SetUnixFileMode(_temp.Path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
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

    [Fact]
    public void A_full_store_refuses_the_write_with_its_own_error_and_keeps_what_it_had()
    {
        var small = new StoreOptions { MaxSizeBytes = 256 * 1024 };
        var kept = new List<long>();
        using var store = TaskStore.Open(_temp.Path, small);
        var big = new string('x', 20_000);
        LlmTasksException? full = null;
        for (var i = 0; i < 100 && full is null; i++)
        {
            try
            {
                kept.Add(store.Insert(Request(big + i), "mock", null, null).Id);
            }
            catch (LlmTasksException e)
            {
                full = e;
            }
        }

        Assert.NotNull(full);
        Assert.Equal(ErrorIds.StoreFull, full.ErrorId);
        Assert.Equal(LlmErrorCategory.WriteError, full.Category);
        Assert.Contains("$env:LLMTASKS_MAX_STORE_MB", full.Message); // as PowerShell users set it
        Assert.True(kept.Count > 2);
        Assert.Equal(kept, store.Query(TaskQuery.All).Select(t => t.Id));
        Assert.All(store.Query(TaskQuery.All), t => Assert.StartsWith(big, t.Prompt));
        store.Delete([kept[0]]);
        store.Insert(Request("fits again"), "mock", null, null); // space freed by retention is usable
    }
}

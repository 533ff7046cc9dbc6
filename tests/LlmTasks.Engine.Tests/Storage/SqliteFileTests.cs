using LlmTasks.Storage;
using LlmTasks.Tests.Doubles;
using Microsoft.Data.Sqlite;

namespace LlmTasks.Tests.Storage;

/// <summary>What only a SQLite store has: its file (WAL, permissions, damage, write protection, a size cap).</summary>
public sealed class SqliteFileTests : IDisposable
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
        Assert.Equal(6L, command.ExecuteScalar());
        command.CommandText = "PRAGMA journal_mode";
        Assert.Equal("wal", command.ExecuteScalar());
        command.CommandText = "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name LIKE 'ix_%'";
        Assert.True((long)command.ExecuteScalar()! >= 7);
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

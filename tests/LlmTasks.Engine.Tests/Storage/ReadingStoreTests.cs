using System.Security.Cryptography;
using LlmTasks.Execution;
using LlmTasks.Storage;
using LlmTasks.Tests.Doubles;
using Microsoft.Data.Sqlite;

namespace LlmTasks.Tests.Storage;

/// <summary>Reading a store is a read: no write connection, no journal switch, no byte of the file changed.</summary>
public sealed class ReadingStoreTests : IDisposable
{
    private readonly TempStore _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void Reading_a_store_through_a_manager_leaves_the_file_byte_for_byte_unchanged()
    {
        using (var store = TaskStore.Open(_temp.Path))
        {
            store.Insert(Managers.Request("left over"), "mock", owner: null, leaseMs: null);
        }

        // A store in rollback-journal mode (say, copied by a tool that does not keep WAL): opening a
        // writer would switch it to WAL, a write. A read must not.
        SqliteConnection.ClearAllPools(); // the store's pooled readers would hold the WAL open
        using (var connection = new SqliteConnection($"Data Source={_temp.Path};Pooling=False"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "PRAGMA journal_mode = DELETE";
            command.ExecuteNonQuery();
        }

        var before = SHA256.HashData(File.ReadAllBytes(_temp.Path));
        using (var manager = Managers.Open(_temp.Path))
        {
            var task = Assert.Single(manager.Store.Query(TaskQuery.All));
            Assert.Empty(manager.Store.GetAttempts(task.Id));
            Assert.Equal(["mock/echo"], StorePeek.DistinctModels(_temp.Path, "mock")); // what completion reads
            Assert.False(manager.IsRunning);
        }

        Assert.Equal(before, SHA256.HashData(File.ReadAllBytes(_temp.Path)));
        Assert.False(File.Exists(_temp.Path + "-wal"));

        using (var writer = Managers.Open(_temp.Path)) // the first write opens the writer (and WAL) as before
        {
            Assert.Equal(LlmTaskState.Completed, Managers.WaitAll(writer, [writer.Start(Managers.Request("now a write")).Id]).Single().State);
        }

        using var check = new SqliteConnection($"Data Source={_temp.Path};Mode=ReadOnly;Pooling=False");
        check.Open();
        using var mode = check.CreateCommand();
        mode.CommandText = "PRAGMA journal_mode";
        Assert.Equal("wal", mode.ExecuteScalar());
    }
}

using System.Security.Cryptography;
using LlmTasks.Execution;
using LlmTasks.Storage;
using LlmTasks.Tests.Doubles;
using Microsoft.Data.Sqlite;

namespace LlmTasks.Tests.Storage;

/// <summary>
/// A store with 4 KB of random bytes written into its middle (as a failing disk or a stray write would):
/// nothing writes to it any more (cmdlet paths and background ones), it stays byte for byte as it was,
/// and what can still be read is copied into a new store.
/// </summary>
public sealed class DamagedStoreTests : IDisposable
{
    private readonly TempStore _temp = new();

    public void Dispose() => _temp.Dispose();

    /// <summary>A store of finished and Pending (unleased) tasks, closed and checkpointed, then damaged.</summary>
    private (List<long> Ids, byte[] Hash) DamagedStore(int tasks = 400, int pending = 0)
    {
        using (var manager = Managers.Open(_temp.Path))
        {
            var ids = Enumerable.Range(0, tasks).Select(i => manager.Start(Managers.Request($"prompt {i} " + new string('x', 200), name: $"t{i}")).Id).ToList();
            Managers.WaitAll(manager, ids);
        }

        using (var store = TaskStore.Open(_temp.Path))
        {
            for (var i = 0; i < pending; i++)
            {
                store.Insert(Managers.Request($"left over {i}"), "mock", owner: null, leaseMs: null);
            }
        }

        // Pooled connections keep pages cached; a new process would not have them.
        SqliteConnection.ClearAllPools();
        using (var connection = new SqliteConnection($"Data Source={_temp.Path};Pooling=False"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "PRAGMA wal_checkpoint(TRUNCATE)";
            command.ExecuteNonQuery();
        }

        var all = new List<long>();
        using (var connection = new SqliteConnection($"Data Source={_temp.Path};Mode=ReadOnly;Pooling=False"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT id FROM tasks ORDER BY id";
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                all.Add(reader.GetInt64(0));
            }
        }

        Damage(_temp.Path);
        return (all, Hash(_temp.Path));
    }

    /// <summary>
    /// 4 KB of random bytes (always the same ones) over the page that holds a task from the middle of the store,
    /// found by its text: where SQLite put it depends on how inserts were batched, the page it is on does not.
    /// </summary>
    internal static void Damage(string path, string marker = "\"content\":\"prompt 200 ")
    {
        var bytes = File.ReadAllBytes(path);
        var at = bytes.AsSpan().IndexOf(System.Text.Encoding.UTF8.GetBytes(marker));
        Assert.True(at > 0, $"'{marker}' is not in the store file");
        var garbage = new byte[4096];
        new Random(7).NextBytes(garbage);
        using var file = new FileStream(path, FileMode.Open, FileAccess.Write);
        file.Position = at / 4096 * 4096;
        file.Write(garbage);
    }

    private static byte[] Hash(string path) => SHA256.HashData(File.ReadAllBytes(path));

    private void AssertUntouched(byte[] hash)
    {
        SqliteConnection.ClearAllPools(); // closing every connection must not checkpoint into the file either
        Assert.Equal(hash, Hash(_temp.Path));
        var wal = _temp.Path + "-wal";
        Assert.True(!File.Exists(wal) || new FileInfo(wal).Length == 0, "something was written to the WAL of the damaged store");
    }

    [Fact]
    public void Every_write_to_a_damaged_store_is_refused_and_the_file_stays_byte_for_byte_the_same()
    {
        var (ids, hash) = DamagedStore();

        using (var store = TaskStore.Open(_temp.Path))
        {
            foreach (var write in new Action[]
            {
                () => store.Insert(Managers.Request("new"), "mock", null, null),
                () => store.Delete(ids.Take(5).ToArray()),
                () => store.Stop(ids.Take(5).ToArray(), "stop"),
                () => store.Restart(ids.Take(5).ToArray(), "me", 0),
                () => store.Approve(ids.Take(5).ToArray(), "me", null),
            })
            {
                var error = Assert.Throws<LlmTasksException>(write);
                Assert.Equal(ErrorIds.StoreCorrupt, error.ErrorId);
                Assert.Equal(LlmErrorCategory.InvalidData, error.Category);
                Assert.Contains("Repair-LlmTaskStore", error.Message);
            }

            Assert.True(store.IsCorrupt);
        }

        using (var manager = Managers.Open(_temp.Path))
        {
            var start = Assert.Throws<LlmTasksException>(() => manager.Start(Managers.Request("new")));
            Assert.Equal(ErrorIds.StoreCorrupt, start.ErrorId);
            var queued = Assert.ThrowsAny<Exception>(() => manager.StartAsync(Managers.Request("new")).GetAwaiter().GetResult());
            Assert.Equal(ErrorIds.StoreCorrupt, Assert.IsType<LlmTasksException>(queued).ErrorId);
        }

        AssertUntouched(hash);
    }

    [Fact]
    public void Background_work_never_claims_or_hands_back_tasks_in_a_damaged_store()
    {
        var (_, hash) = DamagedStore(pending: 50);
        var manager = Managers.Open(_temp.Path);
        try
        {
            // A worker's periodic claim pass finds the left-over work and, before writing, the damage
            // (or starting the worker already meets it).
            try
            {
                manager.StartWorker();
            }
            catch (LlmTasksException e) when (e.ErrorId == ErrorIds.StoreCorrupt)
            {
            }

            IReadOnlyList<string> faults = [];
            Assert.True(SpinWait.SpinUntil(() => (faults = manager.TakeFaults()).Count > 0 || manager.Store.IsCorrupt, TimeSpan.FromSeconds(30)),
                "the claim pass never ran into the damage");
            Assert.True(manager.Store.IsCorrupt);
            Assert.Equal(0, manager.QueuedCount + manager.RunningCount);
        }
        finally
        {
            manager.Dispose(); // no hand-back write either
        }

        AssertUntouched(hash);
    }

    [Fact]
    public void A_read_that_meets_a_damaged_page_marks_the_store_damaged_before_any_write()
    {
        var (_, hash) = DamagedStore();
        using (var store = TaskStore.Open(_temp.Path))
        {
            Assert.False(store.IsCorrupt); // opening an up-to-date store checks nothing yet: reads stay cheap
            var read = Assert.Throws<LlmTasksException>(() => store.Query(TaskQuery.All)); // a full scan meets the damage
            Assert.Equal(ErrorIds.StoreCorrupt, read.ErrorId);
            Assert.True(store.IsCorrupt);
            Assert.Equal(ErrorIds.StoreCorrupt, Assert.Throws<LlmTasksException>(() => store.Insert(Managers.Request("new"), "mock", null, null)).ErrorId);
        }

        AssertUntouched(hash);
    }

    [Fact]
    public void Recovery_copies_every_readable_task_with_its_attempts_into_a_new_store_and_leaves_the_source_alone()
    {
        var (ids, hash) = DamagedStore();
        var destination = Path.Combine(_temp.Folder, "saved", "recovered.db");

        var result = StoreRecovery.Recover(_temp.Path, destination);

        AssertUntouched(hash);
        Assert.NotEqual("ok", result.SourceCheck);
        Assert.True(result.TasksRecovered > ids.Count / 2, $"only {result.TasksRecovered} of {ids.Count} tasks recovered");
        Assert.True(result.TasksLost > 0, "the damage cost no task: the test damaged nothing that matters");
        Assert.True(result.TasksRecovered + result.TasksLost <= ids.Count);
        using var recovered = TaskStore.Open(destination);
        var tasks = recovered.Query(TaskQuery.All);
        Assert.Equal(result.TasksRecovered, tasks.Count);
        Assert.All(tasks, t =>
        {
            Assert.Contains(t.Id, ids);
            var n = t.Name![1..];
            Assert.Equal($"prompt {n} " + new string('x', 200), t.Prompt); // the same task under the same id
            Assert.Equal(t.Prompt, t.Output);
            Assert.Equal(LlmTaskState.Completed, t.State);
        });
        Assert.Equal(result.AttemptsRecovered, tasks.Sum(t => recovered.GetAttempts(t.Id).Count));
        Assert.Equal("ok", new SqliteConnectionStringBuilder { DataSource = destination }.ConnectionString is { } cs ? QuickCheck(cs) : null);

        // The new store takes new work, numbered after the recovered tasks.
        var added = recovered.Insert(Managers.Request("after recovery"), "mock", null, null);
        Assert.True(added.Id > tasks.Max(t => t.Id));

        var again = Assert.Throws<LlmTasksException>(() => StoreRecovery.Recover(_temp.Path, destination));
        Assert.Equal(ErrorIds.StoreExists, again.ErrorId);
    }

    private static string QuickCheck(string connectionString)
    {
        using var connection = new SqliteConnection(connectionString + ";Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA quick_check";
        return (string)command.ExecuteScalar()!;
    }
}

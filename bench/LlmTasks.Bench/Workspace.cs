using Npgsql;

namespace LlmTasks.Bench;

/// <summary>
/// A folder for the run's stores, on the repository's disk (not tmpfs, so synchronous=FULL really syncs). On the
/// PostgreSQL backend (<see cref="BackendVariable"/> = postgres, the server in <see cref="ServerVariable"/>), every
/// new store is a new database on the bench's PostgreSQL server instead.
/// </summary>
internal sealed class Workspace
{
    /// <summary>The backend a scenario's child process runs on: sqlite (default) or postgres.</summary>
    public const string BackendVariable = "LLMTASKS_BENCH_BACKEND";

    /// <summary>The bench server's connection string (superuser, password included), for making databases.</summary>
    public const string ServerVariable = "LLMTASKS_BENCH_PG";

    private int _next;

    public Workspace(string folder)
    {
        Folder = folder;
        Directory.CreateDirectory(folder);
    }

    public string Folder { get; }

    public static string Backend => Environment.GetEnvironmentVariable(BackendVariable) is { Length: > 0 } b ? b : "sqlite";

    public static bool OnPostgres => Backend == "postgres";

    public string NewStore()
    {
        var n = Interlocked.Increment(ref _next);
        if (!OnPostgres)
        {
            return Path.Combine(Folder, $"store-{n}.db");
        }

        var server = new NpgsqlConnectionStringBuilder(Environment.GetEnvironmentVariable(ServerVariable)) { Pooling = false };
        var database = $"bench_{Environment.ProcessId}_{n}";
        using (var connection = new NpgsqlConnection(server.ConnectionString))
        {
            connection.Open();
            using var command = new NpgsqlCommand($"CREATE DATABASE {database}", connection);
            command.ExecuteNonQuery();
        }

        server.Database = database;
        server.Pooling = true;
        return server.ConnectionString;
    }

    public void Delete()
    {
        try
        {
            Directory.Delete(Folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

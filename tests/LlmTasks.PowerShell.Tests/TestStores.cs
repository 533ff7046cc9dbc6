namespace LlmTasks.PowerShell.Tests;

/// <summary>
/// Stores for the real-process tests on either backend: a file in a test's folder, or a fresh database on the
/// shared test PostgreSQL server (its connection string, password included, is what $env:LLMTASKS_STORE gets).
/// Databases made here are dropped on Dispose.
/// </summary>
internal sealed class TestStores(string folder) : IDisposable
{
    private readonly List<string> _databases = [];

    /// <summary>A new store reference: "sqlite" (a file named <paramref name="name"/>.db) or "postgres" (a new database).</summary>
    public string New(string backend, string name)
    {
        if (backend == "sqlite")
        {
            return Path.Combine(folder, name + ".db");
        }

        Assert.Equal("postgres", backend);
        var database = PostgresServer.Shared.CreateDatabase();
        lock (_databases)
        {
            _databases.Add(database);
        }

        return PostgresServer.Shared.ConnectionString(database);
    }

    public void Dispose()
    {
        foreach (var database in _databases)
        {
            PostgresServer.Shared.DropDatabase(database);
        }
    }
}

using LlmTasks.Tests.Stores;

namespace LlmTasks.Tests.Doubles;

/// <summary>The backends the store, task-manager and durability tests run against.</summary>
public enum StoreKind
{
    Sqlite,
    Postgres,
}

/// <summary>
/// A fresh store for one test, removed afterwards: a path in a temporary folder (SQLite), or a new database on the
/// shared test server (PostgreSQL; <see cref="Path"/> is then its connection string, password included).
/// </summary>
public sealed class TempStore : IDisposable
{
    private readonly string? _database;

    public TempStore(StoreKind kind = StoreKind.Sqlite)
    {
        Kind = kind;
        Folder = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "llmtasks-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Folder);
        if (kind == StoreKind.Postgres)
        {
            _database = PostgresServer.Shared.CreateDatabase();
            Path = PostgresServer.Shared.ConnectionString(_database);
        }
        else
        {
            Path = System.IO.Path.Combine(Folder, "tasks.db");
        }
    }

    public StoreKind Kind { get; }

    public string Folder { get; }

    /// <summary>The store reference: a file path, or a PostgreSQL connection string.</summary>
    public string Path { get; }

    /// <summary>What tasks show as their StorePath: the path, or the URI without the password.</summary>
    public string Display => Kind == StoreKind.Postgres ? PostgresServer.Shared.Uri(_database!).ToLowerInvariant() : Path;

    /// <summary>The store's rows as an auditor sees them (and changes them, for time travel).</summary>
    public StoreInspector Inspector => new(Path);

    /// <summary>Runs a statement on the store directly ($name parameters, on either backend).</summary>
    public void Sql(string sql, params (string Name, object Value)[] parameters) => Inspector.Execute(sql, parameters);

    public void Dispose()
    {
        if (_database is not null)
        {
            PostgresServer.Shared.DropDatabase(_database);
        }

        try
        {
            Directory.Delete(Folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

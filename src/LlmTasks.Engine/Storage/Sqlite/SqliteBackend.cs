using Microsoft.Data.Sqlite;

namespace LlmTasks.Storage.Sqlite;

/// <summary>
/// Stores in SQLite files: a reference is a full path (what no other backend recognizes). One machine's
/// processes share a file; SQLite over a network file system is not safe (use PostgreSQL for many machines).
/// </summary>
internal sealed class SqliteBackend : IStoreBackend
{
    private static readonly string[] SideFiles = ["-wal", "-shm", "-journal"];

    public string Name => "sqlite";

    public bool UsesFiles => true;

    public bool Recognizes(string text) => !string.IsNullOrWhiteSpace(text);

    public StoreReference Parse(string text)
    {
        var path = System.IO.Path.GetFullPath(text);
        return new StoreReference(Name, path, path);
    }

    public ITaskStore Open(StoreReference reference, StoreOptions options) => SqliteTaskStore.Open(reference, options);

    public bool Exists(StoreReference reference) => File.Exists(reference.Connection);

    public bool IsSideFile(string path) => SideFiles.Any(side => path.EndsWith(side, StringComparison.OrdinalIgnoreCase));

    public IReadOnlyList<string> Distinct(StoreReference reference, StoreColumn column, string prefix, int limit)
    {
        if (!File.Exists(reference.Connection))
        {
            return [];
        }

        try
        {
            var builder = new SqliteConnectionStringBuilder { DataSource = reference.Connection, Mode = SqliteOpenMode.ReadOnly, Pooling = false, DefaultTimeout = 2 };
            using var connection = new SqliteConnection(builder.ConnectionString);
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'tasks'";
            if (Convert.ToInt64(command.ExecuteScalar()) == 0)
            {
                return [];
            }

            // The column is one of two fixed names, never input.
            var name = column == StoreColumn.Model ? "model" : "name";
            command.CommandText = $"SELECT DISTINCT {name} FROM tasks WHERE {name} LIKE $prefix ESCAPE '\\' ORDER BY {name} LIMIT $limit";
            command.Parameters.AddWithValue("$prefix", Wildcard.LikePrefix(prefix) + "%");
            command.Parameters.AddWithValue("$limit", limit);
            using var reader = command.ExecuteReader();
            var values = new List<string>();
            while (reader.Read())
            {
                values.Add(reader.GetString(0));
            }

            return values;
        }
        catch (SqliteException)
        {
            return []; // locked past the timeout, corrupt, not a database: completion offers nothing
        }
    }

    public IRecoverySource OpenRecoverySource(StoreReference reference) => new SqliteRecoverySource(reference.Connection);

    public IRecoveryTarget CreateRecoveryTarget(StoreReference reference, StoreOptions options)
    {
        using (SqliteTaskStore.Open(reference, options))
        {
            // creates the new store: owner-only folder and file, the latest schema
        }

        return new SqliteRecoveryTarget(reference.Connection);
    }
}

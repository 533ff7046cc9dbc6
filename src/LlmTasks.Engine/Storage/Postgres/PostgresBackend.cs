using Npgsql;

namespace LlmTasks.Storage.Postgres;

/// <summary>
/// Stores in PostgreSQL databases (one store per database, in the schema <c>llmtasks</c>), shared by processes on
/// any number of machines. References: <c>postgres://user@host:5432/db</c> or <c>Host=…;Database=…</c> (see
/// <see cref="PostgresReference"/>).
/// </summary>
internal sealed class PostgresBackend : IStoreBackend
{
    public string Name => PostgresReference.Backend;

    public bool UsesFiles => false;

    public bool Recognizes(string text) => PostgresReference.Recognizes(text);

    public StoreReference Parse(string text) => PostgresReference.Parse(text);

    public ITaskStore Open(StoreReference reference, StoreOptions options) => PostgresTaskStore.Open(reference, options);

    public bool Exists(StoreReference reference)
    {
        var builder = new NpgsqlConnectionStringBuilder(reference.Connection);
        try
        {
            using var data = PostgresReference.DataSource(reference.Connection, b => b.Pooling = false);
            using var connection = data.OpenConnection();
            using var command = new NpgsqlCommand("SELECT to_regclass('llmtasks.tasks') IS NOT NULL", connection);
            return command.ExecuteScalar() is true;
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.InvalidCatalogName)
        {
            return false; // no such database: no store either
        }
        catch (Exception e) when (e is NpgsqlException)
        {
            throw PostgresErrors.From(reference.Display, e, builder);
        }
    }

    public bool IsSideFile(string path) => false;

    public IReadOnlyList<string> Distinct(StoreReference reference, StoreColumn column, string prefix, int limit)
    {
        try
        {
            using var data = PostgresReference.DataSource(reference.Connection, b =>
            {
                b.Pooling = false;
                b.Timeout = 2;
                b.CommandTimeout = 2;
            });
            using var connection = data.OpenConnection();
            using var command = new NpgsqlCommand("SELECT to_regclass('llmtasks.tasks') IS NOT NULL", connection);
            if (command.ExecuteScalar() is not true)
            {
                return [];
            }

            // The column is one of two fixed names, never input; ASCII case ignored, as SQLite's LIKE does.
            var name = column == StoreColumn.Model ? "model" : "name";
            command.CommandText = $"""
                SELECT DISTINCT {name}, lower({name} COLLATE "C") FROM tasks WHERE lower({name} COLLATE "C") LIKE @prefix ESCAPE '\'
                ORDER BY lower({name} COLLATE "C"), {name} LIMIT @limit
                """;
            command.Parameters.Add(PostgresTaskStore.Text("prefix", PostgresTaskStore.AsciiLower(Wildcard.LikePrefix(prefix)) + "%"));
            command.Parameters.Add(PostgresTaskStore.Int("limit", limit));
            using var reader = command.ExecuteReader();
            var values = new List<string>();
            while (reader.Read())
            {
                values.Add(reader.GetString(0));
            }

            return values;
        }
        catch (Exception e) when (e is NpgsqlException or InvalidOperationException or TimeoutException)
        {
            return []; // unreachable, refused, no such database: completion offers nothing
        }
    }

    public IRecoverySource OpenRecoverySource(StoreReference reference) => new PostgresRecoverySource(reference);

    public IRecoveryTarget CreateRecoveryTarget(StoreReference reference, StoreOptions options)
    {
        using (PostgresTaskStore.Open(reference, options))
        {
            // creates the new store's schema
        }

        return new PostgresRecoveryTarget(reference);
    }
}

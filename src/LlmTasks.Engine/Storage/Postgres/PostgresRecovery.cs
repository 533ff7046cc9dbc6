using Npgsql;

namespace LlmTasks.Storage.Postgres;

/// <summary>A PostgreSQL store read for recovery: read-only (a read-only transaction), rows by id ranges, values as SQLite's types.</summary>
internal sealed class PostgresRecoverySource : IRecoverySource
{
    private readonly string _store;
    private readonly NpgsqlDataSource _data;
    private readonly NpgsqlConnection _connection;
    private readonly NpgsqlTransaction _transaction;

    public PostgresRecoverySource(StoreReference reference)
    {
        _store = reference.Display;
        var builder = new NpgsqlConnectionStringBuilder(reference.Connection);
        _data = PostgresReference.DataSource(reference.Connection, b => b.Pooling = false);
        _connection = _data.CreateConnection();
        try
        {
            _connection.Open();
            _transaction = _connection.BeginTransaction(System.Data.IsolationLevel.RepeatableRead);
            using var readOnly = new NpgsqlCommand("SET TRANSACTION READ ONLY", _connection, _transaction);
            readOnly.ExecuteNonQuery();
        }
        catch (Exception e) when (e is NpgsqlException)
        {
            _connection.Dispose();
            _data.Dispose();
            throw PostgresErrors.From(_store, e, builder);
        }
    }

    /// <summary>PostgreSQL keeps its own pages checked (checksums, WAL); a read that meets damage fails that range here.</summary>
    public string Check() => "ok";

    public IReadOnlyList<string> Columns(string table) => PostgresRecoveryTarget.Columns(_connection, _transaction, table);

    public long? MaxId(string table)
    {
        try
        {
            using var savepoint = new NpgsqlCommand("SAVEPOINT max_id", _connection, _transaction);
            savepoint.ExecuteNonQuery();
            using var command = new NpgsqlCommand($"SELECT coalesce(max(id), 0) FROM llmtasks.{table}", _connection, _transaction); // fixed table names only
            var max = Convert.ToInt64(command.ExecuteScalar());
            command.CommandText = "RELEASE SAVEPOINT max_id";
            command.ExecuteNonQuery();
            return max;
        }
        catch (PostgresException)
        {
            using var rollback = new NpgsqlCommand("ROLLBACK TO SAVEPOINT max_id", _connection, _transaction);
            rollback.ExecuteNonQuery();
            return null;
        }
    }

    public IReadOnlyList<IReadOnlyDictionary<string, object>> ReadRows(string table, IReadOnlyList<string> columns, long from, long to)
    {
        using var savepoint = new NpgsqlCommand("SAVEPOINT read_rows", _connection, _transaction);
        savepoint.ExecuteNonQuery();
        try
        {
            using var command = new NpgsqlCommand($"SELECT {string.Join(", ", columns)} FROM llmtasks.{table} WHERE id BETWEEN @from AND @to ORDER BY id", _connection, _transaction);
            command.Parameters.Add(PostgresTaskStore.Long("from", from));
            command.Parameters.Add(PostgresTaskStore.Long("to", to));
            var rows = new List<IReadOnlyDictionary<string, object>>();
            using (var reader = command.ExecuteReader())
            {
                while (reader.Read())
                {
                    rows.Add(columns.Select((name, i) => (name, value: Normalize(reader.GetValue(i)))).ToDictionary(p => p.name, p => p.value, StringComparer.OrdinalIgnoreCase));
                }
            }

            command.CommandText = "RELEASE SAVEPOINT read_rows";
            command.Parameters.Clear();
            command.ExecuteNonQuery();
            return rows;
        }
        catch (PostgresException)
        {
            using var rollback = new NpgsqlCommand("ROLLBACK TO SAVEPOINT read_rows", _connection, _transaction);
            rollback.ExecuteNonQuery();
            throw;
        }
    }

    /// <summary>Integers as long and numbers as double, as SQLite reads them back, so rows copy between backends alike.</summary>
    private static object Normalize(object value) => value switch
    {
        int i => (long)i,
        short s => (long)s,
        float f => (double)f,
        decimal d => (double)d,
        bool b => b ? 1L : 0L,
        _ => value,
    };

    public void Dispose()
    {
        _transaction.Dispose();
        _connection.Dispose();
        _data.Dispose();
    }
}

/// <summary>A new PostgreSQL store that recovered rows go into, in one transaction, ids kept and the id counters set past them.</summary>
internal sealed class PostgresRecoveryTarget : IRecoveryTarget
{
    private readonly NpgsqlDataSource _data;
    private readonly NpgsqlConnection _connection;
    private readonly NpgsqlTransaction _transaction;
    private readonly Dictionary<string, string[]> _columns = new(StringComparer.Ordinal);

    public PostgresRecoveryTarget(StoreReference reference)
    {
        _data = PostgresReference.DataSource(reference.Connection, b => b.Pooling = false);
        _connection = _data.OpenConnection();
        _transaction = _connection.BeginTransaction();
    }

    internal static string[] Columns(NpgsqlConnection connection, NpgsqlTransaction transaction, string table)
    {
        using var command = new NpgsqlCommand("""
            SELECT column_name FROM information_schema.columns WHERE table_schema = 'llmtasks' AND table_name = @table ORDER BY ordinal_position
            """, connection, transaction);
        command.Parameters.Add(PostgresTaskStore.Text("table", table));
        using var reader = command.ExecuteReader();
        var names = new List<string>();
        while (reader.Read())
        {
            names.Add(reader.GetString(0));
        }

        return names.ToArray();
    }

    public IReadOnlyList<string> Columns(string table) => _columns.TryGetValue(table, out var known) ? known : _columns[table] = Columns(_connection, _transaction, table);

    public bool TryInsert(string table, IReadOnlyList<string> columns, IReadOnlyList<object> values)
    {
        using var batch = new NpgsqlBatch(_connection, _transaction);
        batch.BatchCommands.Add(new NpgsqlBatchCommand("SAVEPOINT row"));
        var names = columns.ToList();
        var placeholders = columns.Select((_, i) => "@p" + i).ToList();
        var scope = names.FindIndex(c => c.Equals("scope", StringComparison.OrdinalIgnoreCase));
        if (table == "budgets" && scope >= 0 && !names.Contains("scope_key", StringComparer.OrdinalIgnoreCase))
        {
            names.Add("scope_key"); // a SQLite store's budgets: the scope's key is what SetBudget writes, lower(scope)
            placeholders.Add($"lower(@p{scope})");
        }

        var insert = new NpgsqlBatchCommand($"INSERT INTO llmtasks.{table} ({string.Join(", ", names)}) OVERRIDING SYSTEM VALUE VALUES ({string.Join(", ", placeholders)}) ON CONFLICT DO NOTHING");
        for (var i = 0; i < columns.Count; i++)
        {
            insert.Parameters.Add(new NpgsqlParameter("p" + i, values[i] is string s ? s.Replace('\0', '\uFFFD') : values[i]));
        }

        batch.BatchCommands.Add(insert);
        batch.BatchCommands.Add(new NpgsqlBatchCommand("RELEASE SAVEPOINT row"));
        try
        {
            batch.ExecuteNonQuery();
            return insert.RecordsAffected == 1;
        }
        catch (PostgresException)
        {
            using var rollback = new NpgsqlCommand("ROLLBACK TO SAVEPOINT row", _connection, _transaction);
            rollback.ExecuteNonQuery();
            return false;
        }
    }

    public void Commit()
    {
        foreach (var table in new[] { "tasks", "attempts", "checks", "batches", "budgets" })
        {
            using var sequence = new NpgsqlCommand(
                $"SELECT setval(pg_get_serial_sequence('llmtasks.{table}', 'id'), coalesce(max(id), 1), max(id) IS NOT NULL) FROM llmtasks.{table}", _connection, _transaction);
            sequence.ExecuteNonQuery();
        }

        _transaction.Commit();
    }

    public void Dispose()
    {
        _transaction.Dispose();
        _connection.Dispose();
        _data.Dispose();
    }
}

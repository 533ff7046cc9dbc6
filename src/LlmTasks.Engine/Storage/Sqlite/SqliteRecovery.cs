using Microsoft.Data.Sqlite;

namespace LlmTasks.Storage.Sqlite;

/// <summary>A SQLite store file read for recovery: read-only, rows looked up by row id, so a damaged page costs the rows on it.</summary>
internal sealed class SqliteRecoverySource : IRecoverySource
{
    private readonly SqliteConnection _connection;

    public SqliteRecoverySource(string path)
    {
        _connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ConnectionString);
        _connection.Open();
    }

    public string Check()
    {
        try
        {
            using var command = _connection.CreateCommand();
            command.CommandText = "PRAGMA quick_check(1)";
            return Convert.ToString(command.ExecuteScalar())?.ReplaceLineEndings(" ") ?? "no result";
        }
        catch (SqliteException e)
        {
            return e.Message.TrimEnd('.');
        }
    }

    public IReadOnlyList<string> Columns(string table) => SqliteRecoveryTarget.Columns(_connection, table);

    public long? MaxId(string table)
    {
        long? max = null;
        var sources = table == "tasks"
            ? new[] { "SELECT coalesce(max(rowid), 0) FROM tasks", "SELECT seq FROM sqlite_sequence WHERE name = 'tasks'" }
            : [$"SELECT coalesce(max(rowid), 0) FROM {table}"]; // fixed table names only
        foreach (var sql in sources)
        {
            try
            {
                using var command = _connection.CreateCommand();
                command.CommandText = sql;
                if (command.ExecuteScalar() is long n)
                {
                    max = Math.Max(max ?? 0, n);
                }
            }
            catch (SqliteException)
            {
                // that part is damaged: another source, or probing, decides
            }
        }

        return max;
    }

    public IReadOnlyList<IReadOnlyDictionary<string, object>> ReadRows(string table, IReadOnlyList<string> columns, long from, long to)
    {
        using var command = _connection.CreateCommand();
        command.CommandText = $"SELECT {string.Join(", ", columns)} FROM {table} WHERE rowid BETWEEN $from AND $to ORDER BY rowid";
        command.Parameters.AddWithValue("$from", from);
        command.Parameters.AddWithValue("$to", to);
        using var reader = command.ExecuteReader();
        var rows = new List<IReadOnlyDictionary<string, object>>();
        while (reader.Read())
        {
            rows.Add(columns.Select((name, i) => (name, value: reader.GetValue(i))).ToDictionary(p => p.name, p => p.value, StringComparer.OrdinalIgnoreCase));
        }

        return rows;
    }

    public void Dispose() => _connection.Dispose();
}

/// <summary>A new SQLite store that recovered rows go into, in one transaction.</summary>
internal sealed class SqliteRecoveryTarget : IRecoveryTarget
{
    private readonly SqliteConnection _connection;
    private readonly SqliteTransaction _transaction;
    private readonly Dictionary<string, SqliteCommand> _inserts = new(StringComparer.Ordinal);

    public SqliteRecoveryTarget(string path)
    {
        _connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadWrite, Pooling = false }.ConnectionString);
        _connection.Open();
        _transaction = _connection.BeginTransaction();
    }

    internal static string[] Columns(SqliteConnection connection, string table)
    {
        using var command = connection.CreateCommand();
        command.CommandText = $"SELECT name FROM pragma_table_info('{table}')"; // fixed table names only
        using var reader = command.ExecuteReader();
        var names = new List<string>();
        while (reader.Read())
        {
            names.Add(reader.GetString(0));
        }

        return names.ToArray();
    }

    public IReadOnlyList<string> Columns(string table) => Columns(_connection, table);

    public bool TryInsert(string table, IReadOnlyList<string> columns, IReadOnlyList<object> values)
    {
        var key = table + ":" + string.Join(",", columns);
        if (!_inserts.TryGetValue(key, out var write))
        {
            write = _connection.CreateCommand();
            write.Transaction = _transaction;
            write.CommandText = $"INSERT INTO {table} ({string.Join(", ", columns)}) VALUES ({string.Join(", ", columns.Select((_, i) => "$p" + i))})";
            for (var i = 0; i < columns.Count; i++)
            {
                write.Parameters.Add(new SqliteParameter("$p" + i, DBNull.Value)); // typed by each value
            }

            _inserts[key] = write;
        }

        for (var i = 0; i < values.Count; i++)
        {
            write.Parameters[i].Value = values[i];
        }

        try
        {
            write.ExecuteNonQuery();
            return true;
        }
        catch (SqliteException)
        {
            return false;
        }
    }

    public void Commit() => _transaction.Commit();

    public void Dispose()
    {
        foreach (var command in _inserts.Values)
        {
            command.Dispose();
        }

        _transaction.Dispose();
        _connection.Dispose();
    }
}

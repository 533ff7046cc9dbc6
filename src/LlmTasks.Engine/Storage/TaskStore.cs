using Microsoft.Data.Sqlite;

namespace LlmTasks.Storage;

/// <summary>
/// The SQLite task store: one file per store, WAL journal, forward-only migrations. Writes from
/// this process are serialised on one connection (so they never contend with each other); other
/// processes on the same file are held off by SQLite's locks and the busy timeout. Reads use
/// pooled connections and see committed data only.
/// </summary>
public sealed partial class TaskStore : IDisposable
{
    private readonly object _writeLock = new();
    private readonly string _readConnectionString;
    private readonly string _writeConnectionString;
    private readonly StoreOptions _options;
    private SqliteConnection? _writer;
    private bool _disposed;

    private TaskStore(string path, bool readOnly, SqliteConnection? writer, string writeConnectionString, string readConnectionString, StoreOptions options)
    {
        Path = path;
        IsReadOnly = readOnly;
        _writer = writer;
        _writeConnectionString = writeConnectionString;
        _readConnectionString = readConnectionString;
        _options = options;
    }

    public string Path { get; }

    /// <summary>True when the file is write-protected: tasks can be read but not started, changed or removed.</summary>
    public bool IsReadOnly { get; }

    internal TimeProvider Time => _options.Time;

    internal long NowMs => _options.Time.GetUtcNow().ToUnixTimeMilliseconds();

    /// <summary>
    /// Opens (creating if needed) the store at a full path and brings its schema up to date. An existing
    /// store whose schema is current is opened for reading only: the write connection (and the switch to
    /// WAL) waits for the first write, so reading a store never needs write access and never changes the file.
    /// </summary>
    public static TaskStore Open(string path, StoreOptions? options = null)
    {
        options ??= StoreOptions.Default;
        path = System.IO.Path.GetFullPath(path);
        var folder = System.IO.Path.GetDirectoryName(path)!;
        try
        {
            if (!File.Exists(path))
            {
                OwnerOnlyFiles.EnsureFolder(folder);
                OwnerOnlyFiles.EnsureFile(path);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw StoreErrors.Unavailable(path, e);
        }

        var readOnly = OwnerOnlyFiles.IsWriteProtected(path);
        var builder = new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = readOnly ? SqliteOpenMode.ReadOnly : SqliteOpenMode.ReadWrite,
            Pooling = true,
            DefaultTimeout = (int)Math.Ceiling(options.BusyTimeout.TotalSeconds),
        };
        var readString = new SqliteConnectionStringBuilder(builder.ConnectionString) { Mode = SqliteOpenMode.ReadOnly }.ConnectionString;

        SqliteConnection? writer = null;
        try
        {
            if (readOnly)
            {
                using var probe = new SqliteConnection(readString);
                probe.Open();
                var version = SchemaVersion(probe);
                if (version > SchemaMigrations.Latest)
                {
                    throw StoreErrors.TooNew(path, version);
                }

                if (version < SchemaMigrations.Latest)
                {
                    throw StoreErrors.ReadOnly(path, "its schema needs an upgrade that a write-protected file cannot take");
                }

                return new TaskStore(path, true, null, builder.ConnectionString, readString, options);
            }

            if (File.Exists(path) && new FileInfo(path).Length > 0)
            {
                using var probe = new SqliteConnection(readString);
                probe.Open();
                var version = SchemaVersion(probe); // a corrupt or foreign file fails here, untouched
                if (version > SchemaMigrations.Latest)
                {
                    throw StoreErrors.TooNew(path, version);
                }

                if (version == SchemaMigrations.Latest)
                {
                    return new TaskStore(path, false, null, builder.ConnectionString, readString, options);
                }
            }

            writer = new SqliteConnection(builder.ConnectionString);
            writer.Open();
            var current = SchemaVersion(writer); // reads only: a corrupt or foreign file fails here, untouched
            if (current > SchemaMigrations.Latest)
            {
                throw StoreErrors.TooNew(path, current);
            }

            PrepareWriter(writer, options, current);
            return new TaskStore(path, false, writer, builder.ConnectionString, readString, options);
        }
        catch (SqliteException e)
        {
            writer?.Dispose();
            throw StoreErrors.FromSqlite(path, e);
        }
        catch
        {
            writer?.Dispose();
            throw;
        }
    }

    private static void PrepareWriter(SqliteConnection writer, StoreOptions options, int current)
    {
        Execute(writer, "PRAGMA journal_mode = WAL;");
        ConfigureWriter(writer, options);
        Migrate(writer, current);
    }

    /// <summary>The write connection, opened on first use (under the write lock).</summary>
    private SqliteConnection Writer()
    {
        if (_writer is not null)
        {
            return _writer;
        }

        var writer = new SqliteConnection(_writeConnectionString);
        try
        {
            writer.Open();
            var current = SchemaVersion(writer);
            if (current > SchemaMigrations.Latest)
            {
                throw StoreErrors.TooNew(Path, current); // upgraded by a newer module since we opened it
            }

            PrepareWriter(writer, _options, current);
        }
        catch
        {
            writer.Dispose();
            throw;
        }

        return _writer = writer;
    }

    private static void ConfigureWriter(SqliteConnection connection, StoreOptions options)
    {
        var synchronous = options.Synchronous.ToString().ToUpperInvariant();
        Execute(connection, $"""
            PRAGMA synchronous = {synchronous};
            PRAGMA busy_timeout = {(long)options.BusyTimeout.TotalMilliseconds};
            PRAGMA foreign_keys = ON;
            """);
        if (options.MaxSizeBytes is { } max)
        {
            using var pageSize = connection.CreateCommand();
            pageSize.CommandText = "PRAGMA page_size";
            var pages = Math.Max(1, max / Convert.ToInt64(pageSize.ExecuteScalar()));
            Execute(connection, $"PRAGMA max_page_count = {pages};");
        }
    }

    private static int SchemaVersion(SqliteConnection connection)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'";
        if (Convert.ToInt64(command.ExecuteScalar()) == 0)
        {
            return 0;
        }

        command.CommandText = "SELECT coalesce(max(version), 0) FROM schema_version";
        return Convert.ToInt32(command.ExecuteScalar());
    }

    private static void Migrate(SqliteConnection connection, int current)
    {
        foreach (var (version, description, sql) in SchemaMigrations.All)
        {
            if (version <= current)
            {
                continue;
            }

            using var transaction = connection.BeginTransaction(deferred: false);
            Execute(connection, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at INTEGER NOT NULL);", transaction);
            if (SchemaVersion(connection) >= version)
            {
                continue; // another process applied it while we waited for the lock
            }

            Execute(connection, sql, transaction);
            using var record = connection.CreateCommand();
            record.Transaction = transaction;
            record.CommandText = "INSERT INTO schema_version (version, description, applied_at) VALUES ($v, $d, $t)";
            record.Parameters.AddWithValue("$v", version);
            record.Parameters.AddWithValue("$d", description);
            record.Parameters.AddWithValue("$t", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
            record.ExecuteNonQuery();
            transaction.Commit();
        }
    }

    private static void Execute(SqliteConnection connection, string sql, SqliteTransaction? transaction = null)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private SqliteConnection OpenReader()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var connection = new SqliteConnection(_readConnectionString);
        connection.Open();
        return connection;
    }

    /// <summary>Runs write work on the process's single write connection inside one IMMEDIATE transaction.</summary>
    private T Write<T>(Func<SqliteConnection, SqliteTransaction, T> work)
    {
        if (IsReadOnly)
        {
            throw StoreErrors.ReadOnly(Path, "the file is write-protected");
        }

        lock (_writeLock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            try
            {
                var writer = Writer();
                using var transaction = writer.BeginTransaction(deferred: false);
                var result = work(writer, transaction);
                transaction.Commit();
                return result;
            }
            catch (SqliteException e)
            {
                throw StoreErrors.FromSqlite(Path, e);
            }
        }
    }

    private T Read<T>(Func<SqliteConnection, T> work)
    {
        try
        {
            using var connection = OpenReader();
            return work(connection);
        }
        catch (SqliteException e)
        {
            throw StoreErrors.FromSqlite(Path, e);
        }
    }

    public void Dispose()
    {
        lock (_writeLock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            foreach (var command in _prepared.Values)
            {
                command.Dispose();
            }

            _writer?.Dispose();
        }
    }
}

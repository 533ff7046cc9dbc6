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
    private readonly SqliteConnection? _writer;
    private readonly string _readConnectionString;
    private readonly StoreOptions _options;
    private bool _disposed;

    private TaskStore(string path, bool readOnly, SqliteConnection? writer, string readConnectionString, StoreOptions options)
    {
        Path = path;
        IsReadOnly = readOnly;
        _writer = writer;
        _readConnectionString = readConnectionString;
        _options = options;
    }

    public string Path { get; }

    /// <summary>True when the file is write-protected: tasks can be read but not started, changed or removed.</summary>
    public bool IsReadOnly { get; }

    internal TimeProvider Time => _options.Time;

    internal long NowMs => _options.Time.GetUtcNow().ToUnixTimeMilliseconds();

    /// <summary>Opens (creating if needed) the store at a full path and brings its schema up to date.</summary>
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

                return new TaskStore(path, true, null, readString, options);
            }

            writer = new SqliteConnection(builder.ConnectionString);
            writer.Open();
            var current = SchemaVersion(writer); // reads only: a corrupt or foreign file fails here, untouched
            if (current > SchemaMigrations.Latest)
            {
                throw StoreErrors.TooNew(path, current);
            }

            Execute(writer, "PRAGMA journal_mode = WAL;");
            ConfigureWriter(writer, options);
            Migrate(writer, current);
            return new TaskStore(path, false, writer, readString, options);
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
        if (_writer is null)
        {
            throw StoreErrors.ReadOnly(Path, "the file is write-protected");
        }

        lock (_writeLock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            try
            {
                using var transaction = _writer.BeginTransaction(deferred: false);
                var result = work(_writer, transaction);
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

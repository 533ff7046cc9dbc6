using Microsoft.Data.Sqlite;

namespace LlmTasks.Storage.Sqlite;

/// <summary>
/// The SQLite task store (<see cref="SqliteBackend"/>): one file per store, WAL journal, forward-only migrations. Writes from
/// this process are serialised on one connection (so they never contend with each other); other
/// processes on the same file are held off by SQLite's locks and the busy timeout. Reads use
/// pooled connections and see committed data only.
/// </summary>
internal sealed partial class SqliteTaskStore : ITaskStore
{
    private readonly object _writeLock = new();
    private readonly string _readConnectionString;
    private readonly string _writeConnectionString;
    private readonly StoreOptions _options;
    private SqliteConnection? _writer;
    private bool _disposed;

    private SqliteTaskStore(StoreReference reference, bool readOnly, SqliteConnection? writer, string writeConnectionString, string readConnectionString, StoreOptions options)
    {
        Reference = reference;
        Path = reference.Display;
        IsReadOnly = readOnly;
        _writer = writer;
        _writeConnectionString = writeConnectionString;
        _readConnectionString = readConnectionString;
        _options = options;
    }

    public StoreReference Reference { get; }

    public string Path { get; }

    public int SchemaVersion => SqliteMigrations.Latest;

    /// <summary>Never raised: other processes' changes to a file are found by polling.</summary>
    public event Action<StoreChange>? Changed
    {
        add { }
        remove { }
    }

    /// <summary>SQLite has no notifications: waits and workers poll the file.</summary>
    public void ListenForChanges()
    {
    }

    /// <summary>True when the file is write-protected: tasks can be read but not started, changed or removed.</summary>
    public bool IsReadOnly { get; }

    public string? ReadOnlyReason => IsReadOnly ? "the file is write-protected" : null;

    internal TimeProvider Time => _options.Time;

    /// <summary>The local clock: a SQLite store is on this machine (never on a network file system).</summary>
    public long NowMs => _options.Time.GetUtcNow().ToUnixTimeMilliseconds();

    /// <summary>
    /// Opens (creating if needed) the store at a full path and brings its schema up to date. An existing
    /// store whose schema is current is opened for reading only: the write connection (and the switch to
    /// WAL) waits for the first write, so reading a store never needs write access and never changes the file.
    /// </summary>
    public static SqliteTaskStore Open(StoreReference reference, StoreOptions? options = null)
    {
        options ??= StoreOptions.Default;
        var path = reference.Connection;
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
                var version = ReadSchemaVersion(probe);
                if (version > SqliteMigrations.Latest)
                {
                    throw StoreErrors.TooNew(path, version, SqliteMigrations.Latest);
                }

                if (version < SqliteMigrations.Latest)
                {
                    throw StoreErrors.ReadOnly(path, "its schema needs an upgrade that a write-protected file cannot take");
                }

                return new SqliteTaskStore(reference, true, null, builder.ConnectionString, readString, options);
            }

            if (File.Exists(path) && new FileInfo(path).Length > 0)
            {
                using var probe = new SqliteConnection(readString);
                probe.Open();
                var version = ReadSchemaVersion(probe); // a corrupt or foreign file fails here, untouched
                if (version > SqliteMigrations.Latest)
                {
                    throw StoreErrors.TooNew(path, version, SqliteMigrations.Latest);
                }

                if (version == SqliteMigrations.Latest)
                {
                    return new SqliteTaskStore(reference, false, null, builder.ConnectionString, readString, options);
                }
            }

            writer = new SqliteConnection(builder.ConnectionString);
            writer.Open();
            var current = ReadSchemaVersion(writer); // reads only: a corrupt or foreign file fails here, untouched
            if (current > SqliteMigrations.Latest)
            {
                throw StoreErrors.TooNew(path, current, SqliteMigrations.Latest);
            }

            // A migration (or a new file) writes: check the file first, so a damaged one is refused untouched.
            var store = new SqliteTaskStore(reference, false, writer, builder.ConnectionString, readString, options);
            lock (store._writeLock)
            {
                store.CheckIntegrity();
            }

            PrepareWriter(writer, options, current);
            return store;
        }
        catch (SqliteException e)
        {
            writer?.Dispose();
            throw SqliteErrors.FromSqlite(path, e);
        }
        catch (LlmTasksException e) when (e.ErrorId == ErrorIds.StoreCorrupt)
        {
            writer?.Dispose();
            throw;
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
            var current = ReadSchemaVersion(writer);
            if (current > SqliteMigrations.Latest)
            {
                throw StoreErrors.TooNew(Path, current, SqliteMigrations.Latest); // upgraded by a newer module since we opened it
            }

            _writer = writer;
            CheckIntegrity(); // the switch to WAL and any migration write: a damaged file is refused untouched
            PrepareWriter(writer, _options, current);
        }
        catch (Exception) when (IsCorrupt)
        {
            throw; // keep the connection: closing it later must not checkpoint into the damaged file (MarkCorrupt)
        }
        catch
        {
            _writer = null;
            writer.Dispose();
            throw;
        }

        return writer;
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

    private static int ReadSchemaVersion(SqliteConnection connection)
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
        foreach (var (version, description, sql) in SqliteMigrations.All)
        {
            if (version <= current)
            {
                continue;
            }

            using var transaction = connection.BeginTransaction(deferred: false);
            Execute(connection, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at INTEGER NOT NULL);", transaction);
            if (ReadSchemaVersion(connection) >= version)
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
                CheckIntegrity();
                using var transaction = writer.BeginTransaction(deferred: false);
                var result = work(writer, transaction);
                transaction.Commit();
                return result;
            }
            catch (SqliteException e)
            {
                throw Failed(e);
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
            throw Failed(e);
        }
    }

    /// <summary>The error for a SQLite failure; a damaged page found by any read or write marks the store damaged for good.</summary>
    private LlmTasksException Failed(SqliteException e)
    {
        if (SqliteErrors.IsCorruption(e))
        {
            MarkCorrupt(e.Message.TrimEnd('.'));
            return StoreErrors.Corrupt(Path, _corruption!);
        }

        return SqliteErrors.FromSqlite(Path, e);
    }

    /// <summary>
    /// True once the file failed its integrity check or a read or write met a damaged page: from then on
    /// nothing is written to it by this process (reads of what is intact still work).
    /// </summary>
    public bool IsCorrupt => Volatile.Read(ref _integrity) == Damaged;

    /// <summary>
    /// Refuses to go on when the file is damaged. The first call (before this process's first write) runs
    /// SQLite's quick_check: every page's structure, not the index contents, about 0.2 s for a 100,000-task
    /// store in the page cache. Reads never wait for it; a page damaged later is caught by the SQLITE_CORRUPT
    /// of the read or write that meets it.
    /// </summary>
    public void EnsureIntact()
    {
        if (IsReadOnly || Volatile.Read(ref _integrity) == Intact)
        {
            return;
        }

        lock (_writeLock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            try
            {
                Writer(); // opened on first write, checked before it changes anything
                CheckIntegrity();
            }
            catch (SqliteException e)
            {
                throw Failed(e);
            }
        }
    }

    private const int Unchecked = 0, Intact = 1, Damaged = 2;
    private int _integrity;
    private string? _corruption;

    private void CheckIntegrity()
    {
        switch (_integrity)
        {
            case Intact:
                return;
            case Damaged:
                throw StoreErrors.Corrupt(Path, _corruption!);
        }

        string result;
        try
        {
            using var command = _writer!.CreateCommand();
            command.CommandText = "PRAGMA quick_check(1)";
            result = Convert.ToString(command.ExecuteScalar()) ?? "no result";
        }
        catch (SqliteException e) when (SqliteErrors.IsCorruption(e))
        {
            result = e.Message.TrimEnd('.');
        }

        if (!string.Equals(result, "ok", StringComparison.Ordinal))
        {
            MarkCorrupt(result.ReplaceLineEndings(" ").Trim());
            throw StoreErrors.Corrupt(Path, _corruption!);
        }

        Volatile.Write(ref _integrity, Intact);
    }

    /// <summary>Damaged for good in this process; closing the write connection must not checkpoint the WAL into the file either.</summary>
    private void MarkCorrupt(string detail)
    {
        lock (_writeLock)
        {
            if (_integrity == Damaged)
            {
                return;
            }

            _corruption = detail.Length > 300 ? detail[..300] + "…" : detail;
            Volatile.Write(ref _integrity, Damaged);
            if (_writer is { Handle: { } handle } && !_disposed)
            {
                SQLitePCL.raw.sqlite3_db_config(handle, NoCheckpointOnClose, 1, out _);
            }
        }
    }

    private const int NoCheckpointOnClose = 1006; // SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE

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

            // Really close this store's pooled connections, readers first: the last one to close (the writer, which
            // may write) checkpoints the WAL into the file (not a damaged one: see MarkCorrupt), so a store left by a
            // process that exited is one self-contained file. Connections still in use close when they are returned.
            using (var reader = new SqliteConnection(_readConnectionString))
            {
                SqliteConnection.ClearPool(reader);
            }

            _writer?.Dispose();
            if (_writer is not null)
            {
                SqliteConnection.ClearPool(_writer);
            }
        }
    }
}

using System.Diagnostics;
using Npgsql;
using NpgsqlTypes;

namespace LlmTasks.Storage.Postgres;

/// <summary>
/// The PostgreSQL task store (<see cref="PostgresBackend"/>): one database per store, its tables in the schema
/// <c>llmtasks</c>, forward-only migrations. Processes on any number of machines share it. Claims take rows with
/// <c>FOR UPDATE SKIP LOCKED</c>; every lease is written and compared on the server's clock (<c>now()</c>);
/// writes batch many statements per round trip (<see cref="NpgsqlBatch"/>); a deadlock or a connection lost
/// before a commit is tried again (for up to the busy timeout, as SQLite waits for a lock); <c>NOTIFY</c>
/// tells waits and workers elsewhere when tasks are added, finished or asked to stop (<see cref="PostgresListener"/>).
/// The semantics are the SQLite store's, statement for statement.
/// </summary>
internal sealed partial class PostgresTaskStore : ITaskStore
{
    /// <summary>Now on the server's clock, in UTC milliseconds (the transaction's start: one instant for all it writes).</summary>
    internal const string Now = "(extract(epoch from now()) * 1000)::bigint";

    /// <summary>
    /// "This owner holds the row", for a statement that names its rows by id: written so that no index on lease_owner
    /// can serve it (IS NOT DISTINCT FROM is not an index operator; for a non-null owner it means =). Every task a
    /// process starts carries its owner, so a planner that took ix_tasks_lease for a Running mark read every task of
    /// the process (240 µs a mark over 10,000 started tasks, against 45 µs by id).
    /// </summary>
    internal const string HeldBy = "lease_owner IS NOT DISTINCT FROM @owner";

    private const string Channel = "llmtasks";
    private static readonly TimeSpan ClockRefresh = TimeSpan.FromSeconds(30);

    private readonly NpgsqlDataSource _data;
    private readonly NpgsqlConnectionStringBuilder _builder;
    private readonly StoreOptions _options;
    private readonly object _listenLock = new();
    private PostgresListener? _listener;
    private long _clockOffsetMs;
    private long _clockReadAt;
    private string? _corruption;
    private volatile bool _disposed;

    private PostgresTaskStore(StoreReference reference, NpgsqlConnectionStringBuilder builder, NpgsqlDataSource data, StoreOptions options, string? readOnly, int version)
    {
        Reference = reference;
        Path = reference.Display;
        _builder = builder;
        _data = data;
        _options = options;
        ReadOnlyReason = readOnly;
        SchemaVersion = version;
    }

    public StoreReference Reference { get; }

    public string Path { get; }

    public bool IsReadOnly => ReadOnlyReason is not null;

    public string? ReadOnlyReason { get; }

    public int SchemaVersion { get; }

    public bool IsCorrupt => Volatile.Read(ref _corruption) is not null;

    public event Action<StoreChange>? Changed;

    /// <summary>
    /// Opens the store, creating its schema in an empty database or migrating an older one (under an advisory lock);
    /// an existing current schema is only read. A newer schema is refused and left untouched.
    /// </summary>
    public static PostgresTaskStore Open(StoreReference reference, StoreOptions options)
    {
        var builder = new NpgsqlConnectionStringBuilder(reference.Connection);
        var data = PostgresReference.DataSource(reference.Connection, PreparesItsStatements);
        try
        {
            using var connection = data.OpenConnection();
            var version = ReadVersion(connection, null);
            if (version > PostgresMigrations.Latest)
            {
                throw StoreErrors.TooNew(reference.Display, version, PostgresMigrations.Latest);
            }

            if (version < PostgresMigrations.Latest)
            {
                if (ServerReadOnly(connection) is { } why)
                {
                    throw StoreErrors.ReadOnly(reference.Display, $"{why}, and its tables need {(version == 0 ? "creating" : "an upgrade")}");
                }

                version = Migrate(connection, reference.Display); // a role that may not create tables fails here, as read-only
            }

            var readOnly = ServerReadOnly(connection) ?? RoleReadOnly(connection);

            var store = new PostgresTaskStore(reference, builder, data, options, readOnly, version);
            store.ReadClock(connection);
            return store;
        }
        catch (Exception e)
        {
            data.Dispose();
            throw PostgresErrors.From(reference.Display, e, builder);
        }
    }

    /// <summary>
    /// The store sends a few statements over and over (an insert, a claim, a Running mark, a result, an attempt row):
    /// Npgsql prepares those a connection sends often, so the server parses and plans each once per connection, not once
    /// per task. A connection string that sets Max Auto Prepare itself wins (0 for a pooler in transaction mode).
    /// </summary>
    internal static void PreparesItsStatements(NpgsqlConnectionStringBuilder builder)
    {
        // Npgsql's ContainsKey says whether a keyword exists, not whether the reference set it: its own text is looked at.
        var given = new System.Data.Common.DbConnectionStringBuilder { ConnectionString = builder.ConnectionString };
        if (!given.Keys.Cast<string>().Any(k => k.Replace(" ", string.Empty, StringComparison.Ordinal).Equals("MaxAutoPrepare", StringComparison.OrdinalIgnoreCase)))
        {
            builder.MaxAutoPrepare = 64;
            builder.AutoPrepareMinUsages = 2;
        }
    }

    internal static int ReadVersion(NpgsqlConnection connection, NpgsqlTransaction? transaction)
    {
        using var command = new NpgsqlCommand("SELECT to_regclass('llmtasks.schema_version') IS NOT NULL", connection, transaction);
        if (command.ExecuteScalar() is not true)
        {
            return 0;
        }

        command.CommandText = "SELECT coalesce(max(version), 0) FROM llmtasks.schema_version";
        return Convert.ToInt32(command.ExecuteScalar());
    }

    /// <summary>Why this session may write nothing at all (a standby, default_transaction_read_only), or null.</summary>
    private static string? ServerReadOnly(NpgsqlConnection connection)
    {
        using var command = new NpgsqlCommand("SELECT current_setting('transaction_read_only') = 'on' OR pg_is_in_recovery()", connection);
        return command.ExecuteScalar() is true ? "the server accepts no writes (a standby, or default_transaction_read_only)" : null;
    }

    /// <summary>Why this role may not change the store's tables (it may only read them), or null.</summary>
    private static string? RoleReadOnly(NpgsqlConnection connection)
    {
        using var command = new NpgsqlCommand("""
            SELECT has_table_privilege('llmtasks.tasks', 'INSERT, UPDATE, DELETE')
               AND has_table_privilege('llmtasks.attempts', 'INSERT, UPDATE')
               AND has_table_privilege('llmtasks.checks', 'INSERT')
            """, connection);
        return command.ExecuteScalar() is true ? null : $"the role {connection.UserName} may only read its tables";
    }

    private static int Migrate(NpgsqlConnection connection, string display)
    {
        var current = 0;
        foreach (var (version, description, sql) in PostgresMigrations.All)
        {
            using var transaction = connection.BeginTransaction();
            Execute(connection, transaction, $"SELECT pg_advisory_xact_lock({PostgresMigrations.LockKey})");
            Execute(connection, transaction, PostgresMigrations.SchemaVersionTable);
            current = ReadVersion(connection, transaction);
            if (current > PostgresMigrations.Latest)
            {
                throw StoreErrors.TooNew(display, current, PostgresMigrations.Latest); // a newer module migrated it while we waited
            }

            if (current >= version)
            {
                transaction.Commit(); // another process applied it while we waited for the lock
                continue;
            }

            Execute(connection, transaction, sql);
            using var record = new NpgsqlCommand($"INSERT INTO llmtasks.schema_version (version, description, applied_at) VALUES (@v, @d, {Now})", connection, transaction);
            record.Parameters.Add(Int("v", version));
            record.Parameters.Add(Text("d", description));
            record.ExecuteNonQuery();
            transaction.Commit();
            current = version;
        }

        return current;
    }

    private static void Execute(NpgsqlConnection connection, NpgsqlTransaction? transaction, string sql)
    {
        using var command = new NpgsqlCommand(sql, connection, transaction);
        command.ExecuteNonQuery();
    }

    /// <summary>This machine's clock (the options' <see cref="TimeProvider"/>): only ever used with the offset to the server's.</summary>
    private long LocalMs => _options.Time.GetUtcNow().ToUnixTimeMilliseconds();

    /// <summary>
    /// Now on the server's clock, estimated from this machine's clock and the offset read from the server (every 30 s):
    /// however wrong this machine's clock is, it tells the time the server's leases are written in.
    /// </summary>
    public long NowMs
    {
        get
        {
            if (Stopwatch.GetElapsedTime(Volatile.Read(ref _clockReadAt)) > ClockRefresh && !_disposed)
            {
                try
                {
                    using var connection = _data.OpenConnection();
                    ReadClock(connection);
                }
                catch (Exception e) when (e is NpgsqlException or InvalidOperationException)
                {
                    Volatile.Write(ref _clockReadAt, Stopwatch.GetTimestamp()); // keep the last offset; try again later
                }
            }

            return LocalMs + Volatile.Read(ref _clockOffsetMs);
        }
    }

    private void ReadClock(NpgsqlConnection connection)
    {
        using var command = new NpgsqlCommand("SELECT (extract(epoch from clock_timestamp()) * 1000)::bigint", connection);
        var before = LocalMs;
        var server = Convert.ToInt64(command.ExecuteScalar());
        var after = LocalMs;
        Volatile.Write(ref _clockOffsetMs, server - (before + after) / 2);
        Volatile.Write(ref _clockReadAt, Stopwatch.GetTimestamp());
    }

    public void EnsureIntact()
    {
        if (Volatile.Read(ref _corruption) is { } detail)
        {
            throw StoreErrors.Corrupt(Path, detail);
        }
    }

    /// <summary>One write transaction: its connection, and the notifications to send when it commits.</summary>
    private sealed class Tx(NpgsqlConnection connection, NpgsqlTransaction transaction)
    {
        public NpgsqlConnection Connection { get; } = connection;

        public NpgsqlTransaction Transaction { get; } = transaction;

        public HashSet<string> Notify { get; } = new(StringComparer.Ordinal);

        public bool NotifySent { get; set; }

        public NpgsqlCommand Command(string sql, params NpgsqlParameter[] parameters)
        {
            var command = new NpgsqlCommand(sql, Connection, Transaction);
            command.Parameters.AddRange(parameters);
            return command;
        }

        public NpgsqlBatch Batch() => new(Connection, Transaction);

        /// <summary>The pg_notify statement for what this transaction will have changed (delivered when it commits).</summary>
        public NpgsqlBatchCommand NotifyCommand()
        {
            NotifySent = true;
            return BatchCommand("SELECT pg_notify(@channel, kind) FROM unnest(@kinds) AS kind", Text("channel", Channel), Texts("kinds", Notify.ToArray()));
        }
    }

    private static string Kind(StoreChange change) => change switch
    {
        StoreChange.TasksAdded => "added",
        StoreChange.TasksFinished => "finished",
        _ => "stop",
    };

    internal static StoreChange? Change(string payload) => payload switch
    {
        "added" => StoreChange.TasksAdded,
        "finished" => StoreChange.TasksFinished,
        "stop" => StoreChange.StopRequested,
        _ => null,
    };

    /// <summary>
    /// Runs write work in one READ COMMITTED transaction on a pooled connection. A deadlock, a serialization failure
    /// or a connection lost before the commit was sent (a server restart) rolls it back whole: it runs again, for up
    /// to the busy timeout. A commit whose answer was lost is not tried again: it may have applied.
    /// </summary>
    private T Write<T>(Func<Tx, T> work, params StoreChange[] notify)
    {
        if (IsReadOnly)
        {
            throw StoreErrors.ReadOnly(Path, ReadOnlyReason!);
        }

        var deadline = Stopwatch.GetTimestamp() + (long)(_options.BusyTimeout.TotalSeconds * Stopwatch.Frequency);
        var pause = TimeSpan.FromMilliseconds(50);
        while (true)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            EnsureIntact();
            var committing = false;
            try
            {
                using var connection = _data.OpenConnection();
                using var transaction = connection.BeginTransaction();
                var tx = new Tx(connection, transaction);
                foreach (var change in notify)
                {
                    tx.Notify.Add(Kind(change));
                }

                var result = work(tx);
                if (tx.Notify.Count > 0 && !tx.NotifySent)
                {
                    using var batch = tx.Batch();
                    batch.BatchCommands.Add(tx.NotifyCommand());
                    batch.ExecuteNonQuery();
                }

                committing = true;
                transaction.Commit();
                return result;
            }
            catch (Exception e) when ((PostgresErrors.IsConflict(e) || (!committing && PostgresErrors.IsConnectionFailure(e))) && Stopwatch.GetTimestamp() < deadline)
            {
                Thread.Sleep(pause);
                pause = TimeSpan.FromTicks(Math.Min(pause.Ticks * 2, TimeSpan.FromSeconds(1).Ticks));
            }
            catch (Exception e) when (e is NpgsqlException or InvalidOperationException { InnerException: NpgsqlException })
            {
                throw Failed(e);
            }
        }
    }

    /// <summary>Runs read work on a pooled connection, trying again (for up to the busy timeout) when the connection was lost.</summary>
    private T Read<T>(Func<NpgsqlConnection, T> work)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(_options.BusyTimeout.TotalSeconds * Stopwatch.Frequency);
        var pause = TimeSpan.FromMilliseconds(50);
        while (true)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            try
            {
                using var connection = _data.OpenConnection();
                return work(connection);
            }
            catch (Exception e) when (PostgresErrors.IsConnectionFailure(e) && Stopwatch.GetTimestamp() < deadline)
            {
                Thread.Sleep(pause);
                pause = TimeSpan.FromTicks(Math.Min(pause.Ticks * 2, TimeSpan.FromSeconds(1).Ticks));
            }
            catch (Exception e) when (e is NpgsqlException or InvalidOperationException { InnerException: NpgsqlException })
            {
                throw Failed(e);
            }
        }
    }

    /// <summary>The store error for a failure; data the server reports damaged marks the store damaged for good in this process.</summary>
    private LlmTasksException Failed(Exception e)
    {
        if (PostgresErrors.IsCorruption(e) && e is PostgresException p)
        {
            var detail = p.MessageText.TrimEnd('.');
            Interlocked.CompareExchange(ref _corruption, detail.Length > 300 ? detail[..300] + "…" : detail, null);
            return StoreErrors.Corrupt(Path, _corruption!, e);
        }

        return PostgresErrors.From(Path, e, _builder);
    }

    public void ListenForChanges()
    {
        lock (_listenLock)
        {
            if (_listener is null && !_disposed)
            {
                _listener = new PostgresListener(Reference.Connection, Channel, Path, payload =>
                {
                    if (Change(payload) is { } change)
                    {
                        Changed?.Invoke(change);
                    }
                }, () =>
                {
                    // Back after a lost connection: notifications may have been missed, so everyone looks now.
                    Changed?.Invoke(StoreChange.TasksAdded);
                    Changed?.Invoke(StoreChange.TasksFinished);
                    Changed?.Invoke(StoreChange.StopRequested);
                });

                // Before the worker's first pass or the wait's first look: a task added or finished elsewhere in
                // between would otherwise be heard by nobody until the next poll (an hour, for a worker set so).
                _listener.WaitUntilListening(FirstListenWait);
            }
        }
    }

    /// <summary>How long the first use of a store waits for its listener: a connection and a LISTEN on a reachable server.</summary>
    private static readonly TimeSpan FirstListenWait = TimeSpan.FromSeconds(5);

    public void Dispose()
    {
        lock (_listenLock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            _listener?.Dispose();
        }

        _data.Dispose(); // closes the pooled connections: a store closed leaves no session behind
    }

    internal static NpgsqlParameter Text(string name, string? value) => new(name, NpgsqlDbType.Text) { Value = Clean(value) is { } text ? text : DBNull.Value };

    internal static NpgsqlParameter Long(string name, long? value) => new(name, NpgsqlDbType.Bigint) { Value = value is { } v ? v : DBNull.Value };

    internal static NpgsqlParameter Int(string name, int? value) => new(name, NpgsqlDbType.Integer) { Value = value is { } v ? v : DBNull.Value };

    internal static NpgsqlParameter Real(string name, double? value) => new(name, NpgsqlDbType.Double) { Value = value is { } v ? v : DBNull.Value };

    internal static NpgsqlParameter Longs(string name, IEnumerable<long> values) => new(name, NpgsqlDbType.Array | NpgsqlDbType.Bigint) { Value = values.ToArray() };

    internal static NpgsqlParameter NullableLongs(string name, IEnumerable<long?> values) => new(name, NpgsqlDbType.Array | NpgsqlDbType.Bigint) { Value = values.ToArray() };

    internal static NpgsqlParameter Texts(string name, IEnumerable<string> values) => new(name, NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = values.Select(v => Clean(v)!).ToArray() };

    internal static NpgsqlBatchCommand BatchCommand(string sql, params NpgsqlParameter[] parameters)
    {
        var command = new NpgsqlBatchCommand(sql);
        command.Parameters.AddRange(parameters);
        return command;
    }

    /// <summary>PostgreSQL text cannot hold U+0000: it is stored as U+FFFD (the one way text may differ from what SQLite keeps).</summary>
    private static string? Clean(string? value) => value is not null && value.Contains('\0') ? value.Replace('\0', '\uFFFD') : value;
}

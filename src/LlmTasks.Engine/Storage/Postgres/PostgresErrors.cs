using System.Net.Sockets;
using Npgsql;

namespace LlmTasks.Storage.Postgres;

/// <summary>Turns PostgreSQL and Npgsql failures into the store errors (<see cref="StoreErrors"/>), and says which ones are worth another try.</summary>
internal static class PostgresErrors
{
    /// <summary>A deadlock or serialization failure: the transaction was rolled back whole, so running it again is safe.</summary>
    public static bool IsConflict(Exception e) => e is PostgresException { SqlState: PostgresErrorCodes.DeadlockDetected or PostgresErrorCodes.SerializationFailure };

    /// <summary>
    /// The server went away or is starting or shutting down (a restart, a dropped connection): worth another try while
    /// the busy timeout lasts, as long as no commit was on its way (a lost commit answer could have applied).
    /// </summary>
    public static bool IsConnectionFailure(Exception e) => e switch
    {
        PostgresException p => p.SqlState is PostgresErrorCodes.AdminShutdown or PostgresErrorCodes.CrashShutdown or PostgresErrorCodes.CannotConnectNow
            or PostgresErrorCodes.TooManyConnections || p.SqlState.StartsWith("08", StringComparison.Ordinal),
        NpgsqlException n => n.IsTransient || n.InnerException is SocketException or IOException or TimeoutException,
        _ => false,
    };

    public static bool IsCorruption(Exception e) => e is PostgresException { SqlState: PostgresErrorCodes.DataCorrupted or PostgresErrorCodes.IndexCorrupted };

    /// <summary>The store error for a failure, in words, naming the store by its printable reference.</summary>
    public static LlmTasksException From(string store, Exception e, NpgsqlConnectionStringBuilder? builder = null) => e switch
    {
        LlmTasksException known => known,
        PostgresException { SqlState: PostgresErrorCodes.InvalidPassword or PostgresErrorCodes.InvalidAuthorizationSpecification } p =>
            new LlmTasksException(ErrorIds.StoreAccessDenied, LlmErrorCategory.PermissionDenied,
                $"The task store '{store}' refused the connection: {p.MessageText.TrimEnd('.')}. {PasswordHint(builder)}", e) { Target = store },
        NpgsqlException n when n is not PostgresException && n.Message.Contains("No password has been provided", StringComparison.OrdinalIgnoreCase) =>
            new LlmTasksException(ErrorIds.StoreAccessDenied, LlmErrorCategory.PermissionDenied,
                $"The task store '{store}' needs a password, and none was found. {PasswordHint(builder)}", e) { Target = store },
        PostgresException { SqlState: PostgresErrorCodes.InvalidCatalogName } p =>
            StoreErrors.Unavailable(store, $"{p.MessageText.TrimEnd('.')}. Create it first (createdb, or CREATE DATABASE): the store makes its own tables, not the database.", e),
        PostgresException { SqlState: PostgresErrorCodes.ReadOnlySqlTransaction } =>
            StoreErrors.ReadOnly(store, "the server accepts no writes (a standby, or default_transaction_read_only)", e),
        PostgresException { SqlState: PostgresErrorCodes.InsufficientPrivilege } p =>
            StoreErrors.ReadOnly(store, $"this role may not change it: {p.MessageText.TrimEnd('.')}", e),
        PostgresException { SqlState: PostgresErrorCodes.DiskFull or PostgresErrorCodes.OutOfMemory or PostgresErrorCodes.ProgramLimitExceeded } =>
            StoreErrors.Full(store, e),
        PostgresException { SqlState: PostgresErrorCodes.LockNotAvailable } =>
            StoreErrors.Failed(store, "a row it needed stayed locked by another session past the busy timeout (30 s).", e),
        PostgresException p when IsCorruption(p) => StoreErrors.Corrupt(store, p.MessageText.TrimEnd('.'), e),
        PostgresException p => StoreErrors.Failed(store, p.MessageText, e),
        NpgsqlException n when IsConnectionFailure(n) =>
            StoreErrors.Unavailable(store, $"the PostgreSQL server cannot be reached ({Reason(n)}). Check that it runs, that the host and port are right, and that pg_hba.conf lets this machine in.", e),
        _ => StoreErrors.Failed(store, e.Message, e),
    };

    private static string Reason(Exception e) => (e.InnerException?.Message ?? e.Message).TrimEnd('.');

    /// <summary>Where the password was looked for, for a refused login.</summary>
    public static string PasswordHint(NpgsqlConnectionStringBuilder? builder)
    {
        var hint = "Give the password in the connection string (Password=…) or the URI, in $env:" + PostgresEnvironment.PasswordVariable
            + ", or in the password file (" + (PostgresEnvironment.PasswordFile ?? "~/.pgpass") + ", mode 0600).";
        if (builder is not null && string.IsNullOrEmpty(builder.Password) && PostgresReference.FindPassword(builder, out var note) is null && note is not null)
        {
            hint += $" ({char.ToUpperInvariant(note[0])}{note[1..]}.)";
        }

        return hint;
    }
}

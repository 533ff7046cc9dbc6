using Microsoft.Data.Sqlite;

namespace LlmTasks.Storage.Sqlite;

/// <summary>Turns SQLite failures into the store errors (<see cref="StoreErrors"/>).</summary>
internal static class SqliteErrors
{
    private const int SqliteCorrupt = 11;
    private const int SqliteNotADatabase = 26;
    private const int SqliteReadOnly = 8;
    private const int SqliteCantOpen = 14;
    private const int SqlitePermission = 3;
    private const int SqliteFull = 13;

    public static bool IsCorruption(SqliteException e) => (e.SqliteErrorCode & 0xFF) is SqliteCorrupt or SqliteNotADatabase;

    public static LlmTasksException FromSqlite(string path, SqliteException e) => (e.SqliteErrorCode & 0xFF) switch
    {
        SqliteCorrupt or SqliteNotADatabase => StoreErrors.Corrupt(path, e.Message.TrimEnd('.'), e),
        SqliteReadOnly or SqlitePermission => StoreErrors.ReadOnly(path, e.Message.TrimEnd('.'), e),
        SqliteCantOpen => StoreErrors.Unavailable(path, e),
        SqliteFull => StoreErrors.Full(path, e),
        _ => StoreErrors.Failed(path, e.Message, e),
    };
}

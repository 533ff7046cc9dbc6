using Microsoft.Data.Sqlite;

namespace LlmTasks.Storage;

/// <summary>Turns SQLite failures into errors that say what is wrong with the store and what to do.</summary>
internal static class StoreErrors
{
    private const int SqliteCorrupt = 11;
    private const int SqliteNotADatabase = 26;
    private const int SqliteReadOnly = 8;
    private const int SqliteCantOpen = 14;
    private const int SqlitePermission = 3;
    private const int SqliteFull = 13;

    public static bool IsCorruption(SqliteException e) => (e.SqliteErrorCode & 0xFF) is SqliteCorrupt or SqliteNotADatabase;

    /// <summary>A damaged store: refused for writing, left as it is, with the way to save what can still be read.</summary>
    public static LlmTasksException Corrupt(string path, string detail, Exception? inner = null) =>
        new(ErrorIds.StoreCorrupt, LlmErrorCategory.InvalidData,
            $"The task store '{path}' is damaged ({detail}). Nothing is written to a damaged store: it was left exactly as it is. " +
            $"Copy what can still be read into a new store with Repair-LlmTaskStore -StorePath '{path}' -Destination <new file>, then use that one; " +
            "or move the file aside to start afresh.", inner) { Target = path };

    public static LlmTasksException FromSqlite(string path, SqliteException e) => (e.SqliteErrorCode & 0xFF) switch
    {
        SqliteCorrupt or SqliteNotADatabase => Corrupt(path, e.Message.TrimEnd('.'), e),
        SqliteReadOnly or SqlitePermission => ReadOnly(path, e.Message.TrimEnd('.'), e),
        SqliteCantOpen => Unavailable(path, e),
        SqliteFull => new LlmTasksException(ErrorIds.StoreFull, LlmErrorCategory.WriteError,
            $"The task store '{path}' is full (the disk, or the size set by $env:{StoreOptions.MaxSizeVariable}): this change was not written; everything stored before is intact. Free space or remove old tasks (Remove-LlmTask -OlderThan).", e) { Target = path },
        _ => new LlmTasksException(ErrorIds.StoreUnavailable, LlmErrorCategory.ResourceUnavailable,
            $"The task store '{path}' failed: {e.Message}", e) { Target = path },
    };

    public static LlmTasksException ReadOnly(string path, string why, Exception? inner = null) =>
        new(ErrorIds.StoreReadOnly, LlmErrorCategory.PermissionDenied,
            $"The task store '{path}' is read-only ({why}): tasks can be listed but not started, changed or removed.", inner) { Target = path };

    public static LlmTasksException TooNew(string path, int version) =>
        new(ErrorIds.StoreTooNew, LlmErrorCategory.InvalidData,
            $"The task store '{path}' has schema version {version}, newer than this module knows ({SchemaMigrations.Latest}). Update the LlmTasks module; the store was not changed.") { Target = path };

    public static LlmTasksException Unavailable(string path, Exception inner) =>
        new(ErrorIds.StoreUnavailable, LlmErrorCategory.ResourceUnavailable,
            $"The task store '{path}' cannot be opened: {inner.Message}", inner) { Target = path };
}

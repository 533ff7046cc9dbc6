namespace LlmTasks.Storage;

/// <summary>The store errors every backend raises, in words that say what is wrong with the store and what to do.</summary>
internal static class StoreErrors
{
    /// <summary>A damaged store: refused for writing, left as it is, with the way to save what can still be read.</summary>
    public static LlmTasksException Corrupt(string path, string detail, Exception? inner = null) =>
        new(ErrorIds.StoreCorrupt, LlmErrorCategory.InvalidData,
            $"The task store '{path}' is damaged ({detail}). Nothing is written to a damaged store: it was left exactly as it is. " +
            $"Copy what can still be read into a new store with Repair-LlmTaskStore -StorePath '{path}' -Destination <new store>, then use that one; " +
            "or move it aside to start afresh.", inner) { Target = path };

    public static LlmTasksException Full(string path, Exception? inner = null) =>
        new(ErrorIds.StoreFull, LlmErrorCategory.WriteError,
            $"The task store '{path}' is full (the disk, or the size set by $env:{StoreOptions.MaxSizeVariable}): this change was not written; everything stored before is intact. Free space or remove old tasks (Remove-LlmTask -OlderThan).", inner) { Target = path };

    public static LlmTasksException Failed(string path, string what, Exception? inner = null) =>
        new(ErrorIds.StoreUnavailable, LlmErrorCategory.ResourceUnavailable, $"The task store '{path}' failed: {what}", inner) { Target = path };

    public static LlmTasksException ReadOnly(string path, string why, Exception? inner = null) =>
        new(ErrorIds.StoreReadOnly, LlmErrorCategory.PermissionDenied,
            $"The task store '{path}' is read-only ({why}): tasks can be listed but not started, changed or removed.", inner) { Target = path };

    public static LlmTasksException TooNew(string path, int version, int latest) =>
        new(ErrorIds.StoreTooNew, LlmErrorCategory.InvalidData,
            $"The task store '{path}' has schema version {version}, newer than this module knows ({latest}). Update the LlmTasks module; the store was not changed.") { Target = path };

    public static LlmTasksException Unavailable(string path, Exception inner) => Unavailable(path, inner.Message, inner);

    public static LlmTasksException Unavailable(string path, string why, Exception? inner = null) =>
        new(ErrorIds.StoreUnavailable, LlmErrorCategory.ResourceUnavailable,
            $"The task store '{path}' cannot be opened: {why}", inner) { Target = path };

    public static LlmTasksException InvalidReference(string text, string why) =>
        new(ErrorIds.InvalidStoreReference, LlmErrorCategory.InvalidArgument, $"'{text}' is not a task store reference: {why}") { Target = text };
}

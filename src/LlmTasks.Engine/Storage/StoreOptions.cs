using LlmTasks.Configuration;

namespace LlmTasks.Storage;

/// <summary>
/// How a store is opened. The defaults favour throughput with crash safety of committed work:
/// WAL with synchronous=NORMAL survives a crash of the process (kill -9) without losing a commit;
/// a power loss can lose the last commits (not corrupt the file). Full adds an fsync per commit.
/// </summary>
public sealed record StoreOptions
{
    public const string SynchronousVariable = "LLMTASKS_SYNCHRONOUS";
    public const string MaxSizeVariable = "LLMTASKS_MAX_STORE_MB";

    public StoreSynchronous Synchronous { get; init; } = FromEnvironment();

    /// <summary>How long a writer waits for another process's write lock before failing.</summary>
    public TimeSpan BusyTimeout { get; init; } = TimeSpan.FromSeconds(30);

    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>
    /// A cap on the store file's size (SQLite's max_page_count), or null for none. Writes past it fail
    /// as a full disk does (LlmTaskStoreFull), and nothing already stored changes. $env:LLMTASKS_MAX_STORE_MB.
    /// </summary>
    public long? MaxSizeBytes { get; init; } =
        EngineEnvironment.Process.Int(MaxSizeVariable, 1, int.MaxValue, "no cap") is { } mb ? mb * 1024L * 1024 : null;

    public static StoreOptions Default { get; } = new();

    private static StoreSynchronous FromEnvironment() =>
        EngineEnvironment.Process.Choice<StoreSynchronous>(SynchronousVariable, "Normal") ?? StoreSynchronous.Normal;
}

/// <summary>SQLite's synchronous levels as they apply in WAL mode.</summary>
public enum StoreSynchronous
{
    /// <summary>No fsync: a crash of the process is safe, a power loss may corrupt. Benchmarks only.</summary>
    Off,
    /// <summary>fsync at checkpoints: a process crash loses nothing committed; a power loss may lose the newest commits.</summary>
    Normal,
    /// <summary>fsync on every commit: committed work survives a power loss.</summary>
    Full,
}

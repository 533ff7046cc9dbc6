namespace LlmTasks.Storage;

/// <summary>
/// How a store is opened. The defaults favour throughput with crash safety of committed work:
/// WAL with synchronous=NORMAL survives a crash of the process (kill -9) without losing a commit;
/// a power loss can lose the last commits (not corrupt the file). Full adds an fsync per commit.
/// </summary>
public sealed record StoreOptions
{
    public const string SynchronousVariable = "LLMTASKS_SYNCHRONOUS";

    public StoreSynchronous Synchronous { get; init; } = FromEnvironment();

    /// <summary>How long a writer waits for another process's write lock before failing.</summary>
    public TimeSpan BusyTimeout { get; init; } = TimeSpan.FromSeconds(30);

    public TimeProvider Time { get; init; } = TimeProvider.System;

    public static StoreOptions Default { get; } = new();

    private static StoreSynchronous FromEnvironment() =>
        Enum.TryParse<StoreSynchronous>(Environment.GetEnvironmentVariable(SynchronousVariable), ignoreCase: true, out var value)
            ? value
            : StoreSynchronous.Normal;
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

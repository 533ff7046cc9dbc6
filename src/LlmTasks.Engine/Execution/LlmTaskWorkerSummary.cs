namespace LlmTasks;

/// <summary>What one run of a worker (Invoke-LlmTaskWorker) did, written when it ends.</summary>
public sealed record LlmTaskWorkerSummary
{
    public required string StorePath { get; init; }

    /// <summary>The worker's identity on leases (host:pid:start:random), as attempts record it.</summary>
    public required string Owner { get; init; }

    /// <summary>
    /// Why it ended: QueueEmpty (-UntilEmpty), ShutDown (the module was removed, or the process is ending,
    /// under it) or Stopped (a host called <see cref="Execution.TaskWorker.Stop"/>; Ctrl+C stops the
    /// pipeline, which then writes nothing, so Invoke-LlmTaskWorker writes no summary for it).
    /// </summary>
    public required string EndReason { get; init; }

    public required DateTime StartedAt { get; init; }

    public required DateTime EndedAt { get; init; }

    public TimeSpan Duration => EndedAt - StartedAt;

    /// <summary>Tasks it took from the store.</summary>
    public int Claimed { get; init; }

    public int Completed { get; init; }

    public int Failed { get; init; }

    public int NeedsReview { get; init; }

    public int Cancelled { get; init; }

    /// <summary>Of the tasks it claimed, those whose earlier call was cut off (their process died or its lease ran out).</summary>
    public int Recovered { get; init; }

    /// <summary>Tasks it still held when it stopped, given back to the store for the next wait or worker.</summary>
    public int HandedBack { get; init; }
}

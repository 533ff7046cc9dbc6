namespace LlmTasks.Storage;

/// <summary>One write the task manager hands the store; many are applied in one transaction.</summary>
public abstract record StoreWrite(long TaskId);

/// <summary>
/// A new Pending task (its id is assigned by the insert), batched with whatever else is being written; leased
/// to <paramref name="Owner"/> for <paramref name="LeaseMs"/> (on the store's clock) when given.
/// </summary>
public sealed record InsertTask(LlmTaskRequest Request, string Provider, string? Owner, long? LeaseMs) : StoreWrite(0);

/// <summary>Pending → Running, only if this owner still holds the task and nobody cancelled it; the lease runs <paramref name="LeaseMs"/> from the store's now.</summary>
public sealed record MarkRunning(long TaskId, string Owner, long LeaseMs) : StoreWrite(TaskId);

/// <summary>
/// Records a finished model call and, when <see cref="FinalState"/> is set, the task's result.
/// Applied only while this owner holds the task (Running): a late duplicate becomes a Discarded attempt.
/// With <see cref="FinalState"/> null the task goes back to Pending (an interrupted call on shutdown).
/// </summary>
public sealed record FinishAttempt(long TaskId, string Owner, AttemptRecord Attempt, LlmTaskState? FinalState) : StoreWrite(TaskId);

/// <summary>A model call that ended without ending the task (a transient failure before a retry): counted and kept, task stays Running.</summary>
public sealed record RecordAttempt(long TaskId, string Owner, AttemptRecord Attempt) : StoreWrite(TaskId);

/// <summary>
/// The text a streamed answer has so far, saved while the call runs (at most every 500 ms or 4 K characters) so that
/// Get-LlmTask elsewhere shows it growing. Applied only while this owner holds the task Running; the task's
/// final write clears it. Backend-neutral: a store keeps it beside the task and returns it as <see cref="LlmTask.PartialOutput"/>.
/// </summary>
internal sealed record SavePartialOutput(long TaskId, string Owner, string Text) : StoreWrite(TaskId);

/// <summary>What one model call sent and got.</summary>
public sealed record AttemptRecord
{
    public required LlmAttemptOutcome Outcome { get; init; }
    public string? Output { get; init; }
    public string? Error { get; init; }
    public string? ErrorKind { get; init; }
    public required long StartedAtMs { get; init; }
    public double? LatencyMs { get; init; }
    /// <summary>How long after the try began the first piece of a streamed answer came (null: not streamed, or nothing came).</summary>
    public double? FirstTokenMs { get; init; }
    public long? InputTokens { get; init; }
    public long? OutputTokens { get; init; }
    public decimal? CostUsd { get; init; }
    public string? RequestJson { get; init; }
    /// <summary>The parsed JSON answer when the task asked for JSON.</summary>
    public string? StructuredOutput { get; init; }
    /// <summary>Provider-specific facts about the call as a JSON object (retry delay, session id, permission denials …).</summary>
    public string? DetailsJson { get; init; }
    /// <summary>The verification results of this call's output, stored in the checks table with the attempt.</summary>
    public IReadOnlyList<Verification.LlmCheckResult>? Checks { get; init; }

    /// <summary>
    /// False when no call stands behind this record (stopped, timed out or shut down before the first try, or in
    /// the wait between tries, whose failed tries already have their rows): the task's state changes, no attempt row is added.
    /// </summary>
    public bool CallMade { get; init; } = true;
}

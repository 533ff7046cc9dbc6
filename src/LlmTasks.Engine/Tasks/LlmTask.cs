namespace LlmTasks;

/// <summary>
/// A snapshot of one task as the store held it when the object was made. It does not change
/// as the task runs: pipe it to Get-LlmTask (or call Refresh()) for the current state, or to
/// Wait-LlmTask for the finished one.
/// </summary>
public sealed record LlmTask
{
    public long Id { get; init; }
    public Guid InstanceId { get; init; }
    public string? Name { get; init; }
    public LlmTaskState State { get; init; }
    public required string Model { get; init; }
    public string Prompt { get; init; } = string.Empty;
    public string? Output { get; init; }
    /// <summary>
    /// While the task is Running and its answer streams in: the text so far, as last saved (at most every 500 ms or
    /// 4 K characters), in whichever process runs it. Null once it finishes (its answer is then <see cref="Output"/>).
    /// </summary>
    public string? PartialOutput { get; init; }
    /// <summary>The answer as JSON text when the task asked for JSON (Receive-LlmTask writes it as an object).</summary>
    public string? StructuredOutput { get; init; }
    public string? Error { get; init; }
    /// <summary>A short classification of the error: Timeout, ProviderError, Interrupted, Cancelled …</summary>
    public string? ErrorKind { get; init; }
    public int Attempts { get; init; }
    public long? InputTokens { get; init; }
    public long? OutputTokens { get; init; }
    public decimal? CostUsd { get; init; }
    public DateTime CreatedAt { get; init; }
    public DateTime? StartedAt { get; init; }
    public DateTime? CompletedAt { get; init; }
    /// <summary>The process (owner id) holding the task's lease while it is Pending in its queue or Running.</summary>
    public string? Owner { get; init; }
    public DateTime? LeaseExpiresAt { get; init; }
    public bool CancelRequested { get; init; }
    /// <summary>The provider batch (Get-LlmTaskBatch) the task's request went in, when it was started with -AsBatch; null otherwise and once restarted.</summary>
    public long? BatchId { get; init; }
    public required string StorePath { get; init; }

    private readonly string? _requestJson;
    private LlmTaskRequest? _request;

    /// <summary>The request as stored: messages and options (parsed on first use).</summary>
    public LlmTaskRequest Request
    {
        get => _request ??= Storage.StoreJson.Deserialize(_requestJson ?? throw new InvalidOperationException("The task has no request."));
        init => _request = value;
    }

    internal string? RequestJson { init => _requestJson = value; }

    /// <summary>
    /// Seconds from start to finish (so far, while Running): a number, so that Measure-Object can sum and
    /// average it, as Get-Process has CPU in seconds beside TotalProcessorTime. <see cref="Elapsed"/> is the same as a TimeSpan.
    /// </summary>
    public double? Duration => Elapsed?.TotalSeconds;

    /// <summary>
    /// The checks of the task's latest verified attempt, each with its reason; empty when it has none. The cmdlets read them
    /// with the task (one store read for a whole batch of tasks); a task read through the engine's store alone has none.
    /// </summary>
    public IReadOnlyList<Verification.LlmCheckResult> Checks { get; init; } = [];

    /// <summary>Those of <see cref="Checks"/> that did not pass.</summary>
    public IReadOnlyList<Verification.LlmCheckResult> FailedChecks =>
        Checks.Count == 0 || Checks.All(c => c.Passed) ? [] : Checks.Where(c => !c.Passed).ToArray();

    /// <summary>The time from start to finish (so far, while Running); null before the task starts.</summary>
    public TimeSpan? Elapsed => StartedAt is { } started
        ? (CompletedAt ?? (State == LlmTaskState.Running ? DateTime.Now : started)) - started
        : null;

    public bool IsFinished => State.IsTerminal();

    public override string ToString() => $"LlmTask {Id} ({State})";
}

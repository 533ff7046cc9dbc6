namespace LlmTasks;

/// <summary>How one model call of a task ended.</summary>
public enum LlmAttemptOutcome
{
    Succeeded,
    Failed,
    Cancelled,
    /// <summary>The process running the call stopped (exited or crashed) before it ended.</summary>
    Interrupted,
    /// <summary>The call ended after another process had already recorded the task's result; it was not applied.</summary>
    Discarded,
}

/// <summary>One model call made for a task: what was sent, what came back, how long it took.</summary>
public sealed record LlmAttempt
{
    public long TaskId { get; init; }
    public int Number { get; init; }
    public LlmAttemptOutcome Outcome { get; init; }
    public string? Output { get; init; }
    public string? Error { get; init; }
    public string? ErrorKind { get; init; }
    public DateTime StartedAt { get; init; }
    public TimeSpan? Latency { get; init; }
    /// <summary>For a streamed call: how long after it began the first piece of the answer came.</summary>
    public TimeSpan? TimeToFirstToken { get; init; }
    public long? InputTokens { get; init; }
    public long? OutputTokens { get; init; }
    public decimal? CostUsd { get; init; }
    public string? Owner { get; init; }
    /// <summary>The messages and options sent, as JSON (stored once when it is the task's own request).</summary>
    public string? RequestJson { get; init; }

    /// <summary>
    /// The conversation this call sent, in order (role and content of each message), read from
    /// <see cref="RequestJson"/>: for a re-ask, the original messages, each failed answer and the feedback.
    /// Empty when the request cannot be read.
    /// </summary>
    public IReadOnlyList<LlmMessage> Messages => Storage.StoreJson.TryReadMessages(RequestJson);

    /// <summary>The model this call was sent to: the task's, or a -Fallback model the call moved on to.</summary>
    public string? Model => Storage.StoreJson.TryReadModel(RequestJson);
    public string? StructuredOutput { get; init; }
    /// <summary>Provider-specific facts about the call, as a JSON object (retry delay, session id, permission denials …).</summary>
    public string? DetailsJson { get; init; }
}

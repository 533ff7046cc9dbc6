using LlmTasks.Storage;

namespace LlmTasks;

/// <summary>
/// A provider batch as the store keeps it (table <c>batches</c>): the tasks of one provider, model and endpoint sent
/// together at the provider's batch price. A snapshot, like <see cref="LlmTask"/>: Get-LlmTaskBatch reads it fresh.
/// </summary>
public sealed record LlmBatch
{
    public long Id { get; init; }
    /// <summary>The provider prefix (openai, anthropic, mock …).</summary>
    public required string Provider { get; init; }
    /// <summary>The whole model string of its tasks.</summary>
    public required string Model { get; init; }
    /// <summary>The base URL its requests went to (null: the provider's default). Shown only: the tasks' own requests decide where polls go.</summary>
    public string? Endpoint { get; init; }
    /// <summary>The provider's id of the batch (batch_abc…, msgbatch_…); null until it was sent.</summary>
    public string? ProviderBatchId { get; init; }
    public LlmBatchState State { get; init; }
    /// <summary>The provider's own word for the state (validating, in_progress, finalizing, ended …).</summary>
    public string? ProviderStatus { get; init; }
    public int RequestCount { get; init; }
    /// <summary>Requests the provider has answered (succeeded) so far.</summary>
    public int CompletedCount { get; init; }
    /// <summary>Requests that failed, expired or were cancelled at the provider so far.</summary>
    public int FailedCount { get; init; }
    public DateTime CreatedAt { get; init; }
    public DateTime? SubmittedAt { get; init; }
    /// <summary>When the provider gives up on the batch (24 h after it was sent, for OpenAI and Anthropic).</summary>
    public DateTime? ExpiresAt { get; init; }
    public DateTime? EndedAt { get; init; }
    /// <summary>The cost of its tasks' answers at the batch price (estimated, as task costs are).</summary>
    public decimal? CostUsd { get; init; }
    public string? Error { get; init; }
    /// <summary>The process polling it (host:pid:start:random), while its lease runs.</summary>
    public string? Owner { get; init; }
    public DateTime? LeaseExpiresAt => UnixTime.Local(LeaseExpiresMs);

    /// <summary>The lease's end on the store's clock (UTC ms).</summary>
    internal long? LeaseExpiresMs { get; init; }
    public required string StorePath { get; init; }

    /// <summary>Requests not answered yet.</summary>
    public int PendingCount => Math.Max(0, RequestCount - CompletedCount - FailedCount);

    public bool IsFinished => State.IsTerminal();

    /// <summary>"batch_abc: in_progress, 1,200 of 5,000 done": what Wait-LlmTask's progress shows.</summary>
    public string Describe() =>
        $"{ProviderBatchId ?? $"batch {Id}"}: {ProviderStatus ?? State.ToString()}, {CompletedCount + FailedCount:N0} of {RequestCount:N0} done";

    public override string ToString() => $"LlmBatch {Id} ({State})";
}

/// <summary>Where a batch is. Completed, Failed, Expired and Cancelled are terminal.</summary>
public enum LlmBatchState
{
    /// <summary>Stored with its tasks; being sent to the provider.</summary>
    Submitting,
    /// <summary>At the provider, being checked (OpenAI's validating).</summary>
    Validating,
    /// <summary>At the provider, being answered.</summary>
    InProgress,
    /// <summary>Answered at the provider; the results are being written to the tasks.</summary>
    Finalizing,
    /// <summary>Asked to cancel at the provider (every task of it was stopped).</summary>
    Cancelling,
    /// <summary>Every result was written to its task.</summary>
    Completed,
    /// <summary>The provider refused or lost the batch; its unfinished tasks failed.</summary>
    Failed,
    /// <summary>The provider's completion window ran out; unanswered tasks failed with ErrorKind BatchExpired.</summary>
    Expired,
    /// <summary>Cancelled at the provider; unanswered tasks are Cancelled.</summary>
    Cancelled,
}

public static class LlmBatchStateExtensions
{
    public static bool IsTerminal(this LlmBatchState state) =>
        state is LlmBatchState.Completed or LlmBatchState.Failed or LlmBatchState.Expired or LlmBatchState.Cancelled;
}

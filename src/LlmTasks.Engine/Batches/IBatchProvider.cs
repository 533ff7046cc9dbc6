using LlmTasks.Providers;

namespace LlmTasks.Batches;

/// <summary>
/// A provider's batch API: send many requests as one batch, look at it, read its results, cancel it. Everything is
/// addressed by the provider's batch id, so any process can pick a batch up from its stored row after the one that
/// sent it died. Implementations hold no state of their own between calls.
/// </summary>
public interface IBatchProvider
{
    /// <summary>The provider's limits on one batch: the gatherer splits there.</summary>
    BatchLimits Limits { get; }

    /// <summary>Sends the requests as one batch; returns its id and first status.</summary>
    Task<BatchStatus> SubmitAsync(BatchContext context, IReadOnlyList<BatchRequest> requests, CancellationToken cancellationToken);

    /// <summary>The batch's status now.</summary>
    Task<BatchStatus> GetAsync(BatchContext context, string batchId, CancellationToken cancellationToken);

    /// <summary>The results of a batch that ended (any order; each names its request's custom id).</summary>
    IAsyncEnumerable<BatchResult> ResultsAsync(BatchContext context, BatchStatus status, CancellationToken cancellationToken);

    /// <summary>Asks the provider to cancel the batch; returns the status after the request.</summary>
    Task<BatchStatus> CancelAsync(BatchContext context, string batchId, CancellationToken cancellationToken);
}

/// <summary>How many requests (and bytes of request lines) one batch may hold.</summary>
public sealed record BatchLimits(int MaxRequests, long MaxBytes)
{
    /// <summary>OpenAI's: 50,000 requests and 200 MB per input file.</summary>
    public static BatchLimits OpenAI { get; } = new(50_000, 200L * 1024 * 1024);

    /// <summary>Anthropic's: 100,000 requests and 256 MB per batch.</summary>
    public static BatchLimits Anthropic { get; } = new(100_000, 256L * 1024 * 1024);
}

/// <summary>
/// What a batch call may use: the model, and one of its tasks' request and secrets for the endpoint and key (the
/// tasks of one batch share model, endpoint and key: the gatherer groups them so). <see cref="Time"/> is the manager's clock.
/// </summary>
public sealed record BatchContext(ModelId Model, ProviderCallContext Call, TimeProvider Time);

/// <summary>One request of a batch: its custom id (the task's id and attempt) and what it asks.</summary>
public sealed record BatchRequest(string CustomId, LlmTaskRequest Request)
{
    /// <summary>The custom id of a task's request: "task-{id}-{attempt}", unique in its batch and back to its task.</summary>
    public static string IdFor(long taskId, int attempt) => $"task-{taskId}-{attempt}";

    /// <summary>The task id a custom id names, or null when it names none.</summary>
    public static long? TaskOf(string customId)
    {
        var parts = customId.Split('-');
        return parts.Length == 3 && parts[0] == "task" && long.TryParse(parts[1], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var id) ? id : null;
    }
}

/// <summary>What the provider says about a batch.</summary>
public sealed record BatchStatus
{
    public required string BatchId { get; init; }
    public required LlmBatchState State { get; init; }
    /// <summary>The provider's own word for it (validating, in_progress, ended …).</summary>
    public required string ProviderStatus { get; init; }
    public int Total { get; init; }
    public int Completed { get; init; }
    public int Failed { get; init; }
    public DateTimeOffset? ExpiresAt { get; init; }
    /// <summary>Why the batch failed, in the provider's words.</summary>
    public string? Error { get; init; }
    /// <summary>The provider's facts the results need (output and error file ids, a results URL) as JSON.</summary>
    public string? DetailsJson { get; init; }

    /// <summary>The provider is done with it: its results (if any) can be read. (OpenAI's finalizing is not done: its output file is still being written.)</summary>
    public bool Ended => State.IsTerminal();
}

/// <summary>One request's result, by its custom id.</summary>
public sealed record BatchResult
{
    public required string CustomId { get; init; }
    public bool Succeeded { get; init; }
    public string? Output { get; init; }
    public long? InputTokens { get; init; }
    public long? OutputTokens { get; init; }
    public string? Error { get; init; }
    /// <summary>The failure's kind as tasks have it (ProviderError, InvalidRequest, RateLimited, BatchExpired, Cancelled …).</summary>
    public string? ErrorKind { get; init; }
    /// <summary>The provider's facts about the answer (its response id, HTTP status) as JSON.</summary>
    public string? DetailsJson { get; init; }
}

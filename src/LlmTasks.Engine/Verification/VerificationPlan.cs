namespace LlmTasks.Verification;

/// <summary>
/// What a task's output must pass and what to do when it does not: re-ask with feedback up to
/// <see cref="MaxAttempts"/>, add a tool after <see cref="ToolAfterAttempts"/>, hand it to a person
/// (NeedsReview) after <see cref="ReviewAfterAttempts"/>. Stored with the request.
/// </summary>
public sealed record VerificationPlan
{
    public required IReadOnlyList<CheckSpec> Checks { get; init; }

    /// <summary>Model calls that count against the limit (transient retries inside one call do not). Default 1: no re-ask.</summary>
    public int MaxAttempts { get; init; } = 1;

    /// <summary>After this many failed attempts the task ends NeedsReview; null means <see cref="MaxAttempts"/>.</summary>
    public int? ReviewAfterAttempts { get; init; }

    /// <summary>From attempt K+1 on, <see cref="ToolOptions"/> and <see cref="ToolHint"/> are added; null: never.</summary>
    public int? ToolAfterAttempts { get; init; }

    /// <summary>Provider options merged into the request from attempt K+1 on (mcpConfigPath / mcpConfigJson …).</summary>
    public ProviderOptions? ToolOptions { get; init; }

    /// <summary>Text added to the feedback from attempt K+1 on (how to use the tool).</summary>
    public string? ToolHint { get; init; }

    /// <summary>
    /// For a batch task (Start-LlmTask -AsBatch -LiveReask): an answer from its batch that fails the checks is re-asked with
    /// live calls (at the live price, answered at once) instead of in a new batch. Stored with the request, so a process that
    /// takes the batch or the re-ask over does the same.
    /// </summary>
    public bool LiveReask { get; init; }

    public int ReviewAfter => ReviewAfterAttempts ?? MaxAttempts;
}

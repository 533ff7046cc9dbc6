namespace LlmTasks.Execution.Limits;

/// <summary>
/// A rate limit: requests and/or tokens per minute for a provider (<c>openai</c>: all its models together) or one model
/// (<c>openai/gpt-4o-mini</c>). Get-LlmRateLimit writes these, with where each comes from and what this process paces to.
/// </summary>
public sealed class RateLimitSetting
{
    /// <summary>A provider prefix or a whole model.</summary>
    public required string Scope { get; init; }

    public int? RequestsPerMinute { get; init; }

    public long? TokensPerMinute { get; init; }

    /// <summary>Environment ($env:LLMTASKS_RATE_LIMITS), Session (Set-LlmRateLimit) or Headers (learned from the provider's answers).</summary>
    public required string Source { get; init; }

    /// <summary>The processes that share the limit on this store now (this one included); each paces to its share.</summary>
    public int? SharedBy { get; init; }

    /// <summary>The store whose processes share a learned limit (null for a configured one: it applies in every store).</summary>
    public string? StorePath { get; init; }

    public override string ToString() => Scope;
}

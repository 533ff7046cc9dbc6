namespace LlmTasks.Providers.Pricing;

/// <summary>
/// What the price map says about one model LlmTasks can call (Get-LlmModel writes these): its provider, context
/// window, prices in USD per million tokens and capabilities. A missing fact is null, never zero.
/// </summary>
public sealed class LlmModelInfo
{
    /// <summary>The model as -Model takes it: openai/gpt-4o-mini, anthropic/claude-sonnet-4-5.</summary>
    public required string Model { get; init; }

    /// <summary>The LlmTasks provider prefix (openai, anthropic, azure, openrouter, ollama).</summary>
    public required string Provider { get; init; }

    /// <summary>The most input tokens the model takes (its context window for the prompt).</summary>
    public long? ContextWindow { get; init; }

    /// <summary>The most tokens one answer may have.</summary>
    public long? MaxOutputTokens { get; init; }

    public decimal? InputUsdPerMillion { get; init; }

    public decimal? OutputUsdPerMillion { get; init; }

    /// <summary>Input tokens read from the provider's prompt cache.</summary>
    public decimal? CachedInputUsdPerMillion { get; init; }

    /// <summary>Input tokens written to the provider's prompt cache (Anthropic).</summary>
    public decimal? CacheWriteUsdPerMillion { get; init; }

    /// <summary>The batch API's input price, when the price map has one.</summary>
    public decimal? BatchInputUsdPerMillion { get; init; }

    /// <summary>The batch API's output price, when the price map has one.</summary>
    public decimal? BatchOutputUsdPerMillion { get; init; }

    /// <summary>FunctionCalling, Vision, ResponseSchema, Reasoning, PromptCaching: what the price map says the model supports.</summary>
    public required string[] Capabilities { get; init; }

    /// <summary>When the provider retires the model, if announced.</summary>
    public DateTime? DeprecationDate { get; init; }

    /// <summary>Where these facts come from: the snapshot shipped with the module, or $env:LLMTASKS_MODEL_PRICES's file.</summary>
    public required string Source { get; init; }

    internal decimal? InputPerToken { get; init; }

    internal decimal? OutputPerToken { get; init; }

    internal decimal? CachedInputPerToken { get; init; }

    internal decimal? BatchInputPerToken { get; init; }

    internal decimal? BatchOutputPerToken { get; init; }

    public override string ToString() => Model;
}

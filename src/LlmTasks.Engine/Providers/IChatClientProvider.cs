using Microsoft.Extensions.AI;

namespace LlmTasks.Providers;

/// <summary>
/// Turns the model part of a model string into an <see cref="IChatClient"/>. One provider per
/// prefix (openai, anthropic, max, mock …). Providers read their configuration (keys, base URLs)
/// when a task runs, never when it is stored.
/// </summary>
public interface IChatClientProvider
{
    /// <summary>The prefix in model strings, lower case.</summary>
    string Name { get; }

    /// <summary>How many calls to this provider may run at once in one process; null: only the global limit applies.</summary>
    int? DefaultConcurrency { get; }

    /// <summary>Throws an <see cref="LlmTasksException"/> when the model cannot be served, before the task is stored.</summary>
    void Validate(ModelId model);

    /// <summary>
    /// Whether its clients stream answers (<see cref="IChatClient.GetStreamingResponseAsync"/> yields the answer as it
    /// arrives): the pipeline then streams calls, saving partial output. False by default: whole answers only.
    /// </summary>
    bool StreamsAnswers => false;

    /// <summary>
    /// True when the provider's answers can state its rate limits (HTTP headers such as x-ratelimit-*): only then does a
    /// model with no configured limit get paced at all (its first call probes for the limit). False (the default: mock
    /// models, local CLIs): with nothing configured its calls go out as soon as a slot is free.
    /// </summary>
    bool ReportsRateLimits => false;

    /// <summary>The provider's batch API (Start-LlmTask -AsBatch); null when it has none (the default).</summary>
    LlmTasks.Batches.IBatchProvider? Batches => null;

    /// <summary>A client for one call: per-task settings (base URL, key, options) come from the context.</summary>
    IChatClient CreateClient(ModelId model, ProviderCallContext context);
}

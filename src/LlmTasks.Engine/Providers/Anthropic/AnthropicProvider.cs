using Anthropic;
using Anthropic.Core;
using LlmTasks.Providers.Http;
using Microsoft.Extensions.AI;

namespace LlmTasks.Providers.Anthropic;

/// <summary>
/// The Anthropic Messages API through the official Anthropic SDK's <see cref="IChatClient"/>.
/// SDK retries off (the engine retries); its timeout set explicitly (the SDK's default shrinks with max_tokens).
/// </summary>
public sealed class AnthropicProvider(ProviderEnvironment? environment = null) : IChatClientProvider
{
    public const string KeyVariable = "ANTHROPIC_API_KEY";
    public const string BaseUrlVariable = "ANTHROPIC_BASE_URL";
    public const string DefaultBaseUrl = "https://api.anthropic.com";

    /// <summary>max_tokens is required by the Messages API: sent when the task gives no -MaxTokens.</summary>
    public const int DefaultMaxTokens = 4096;

    private readonly ProviderEnvironment _environment = environment ?? ProviderEnvironment.Process;

    public string Name => "anthropic";

    public int? DefaultConcurrency => null;

    /// <summary>Answers stream (server-sent events; for max/*, the CLI's stream-json).</summary>
    public bool StreamsAnswers => true;

    /// <summary>Its answers carry rate-limit headers that the pacing learns from.</summary>
    public bool ReportsRateLimits => true;

    public void Validate(ModelId model)
    {
    }

    /// <summary>Message Batches (-AsBatch).</summary>
    public LlmTasks.Batches.IBatchProvider Batches => _batches ??= new AnthropicBatchProvider(_environment);

    private LlmTasks.Batches.IBatchProvider? _batches;

    public IChatClient CreateClient(ModelId model, ProviderCallContext context)
    {
        var baseUrl = _environment.BaseUrl(context, Name, DefaultBaseUrl, BaseUrlVariable);
        var key = _environment.RequireKey(context, KeyVariable, Name);
        var client = new AnthropicClient(new ClientOptions
        {
            ApiKey = key,
            BaseUrl = baseUrl.ToString().TrimEnd('/'),
            MaxRetries = 0,
            Timeout = HttpDefaults.NetworkTimeout,
            Handlers = [new AnswerLimit(_environment.MaxAnswerBytes), new ResponseHeaderCapture()],
        });
        return new AnthropicAdapter(client.AsIChatClient(model.Model, DefaultMaxTokens), model, _environment.MaxAnswerBytes);
    }
}

using System.ClientModel;
using System.ClientModel.Primitives;
using LlmTasks.Providers.Http;
using Microsoft.Extensions.AI;
using OpenAI;

namespace LlmTasks.Providers.OpenAICompatible;

/// <summary>
/// OpenAI Chat Completions (and every server that speaks it: Ollama, vLLM, LM Studio, OpenRouter,
/// LiteLLM) through the OpenAI SDK's <see cref="IChatClient"/>. The SDK's retries are off: the engine retries.
/// </summary>
public sealed class OpenAICompatibleProvider(OpenAICompatibleEndpoint endpoint, ProviderEnvironment? environment = null) : IChatClientProvider
{
    private readonly ProviderEnvironment _environment = environment ?? ProviderEnvironment.Process;

    public string Name => endpoint.Name;

    public int? DefaultConcurrency => null;

    /// <summary>Answers stream (server-sent events; for max/*, the CLI's stream-json).</summary>
    public bool StreamsAnswers => true;

    /// <summary>Its answers carry rate-limit headers that the pacing learns from.</summary>
    public bool ReportsRateLimits => true;

    public OpenAICompatibleEndpoint Endpoint => endpoint;

    /// <summary>OpenAI's Batch API (openai/… only: the other OpenAI-compatible servers have none LlmTasks can rely on).</summary>
    public LlmTasks.Batches.IBatchProvider? Batches => _batches ??= endpoint == OpenAICompatibleEndpoint.OpenAI ? new OpenAIBatchProvider(endpoint, _environment) : null;

    private LlmTasks.Batches.IBatchProvider? _batches;

    public void Validate(ModelId model)
    {
    }

    public IChatClient CreateClient(ModelId model, ProviderCallContext context)
    {
        var fallback = OpenAICompatibleEndpoint.FromHost(endpoint.HostVariable is { } host ? _environment.Get(host) : null) ?? endpoint.DefaultBaseUrl;
        var baseUrl = _environment.BaseUrl(context, endpoint.Name, fallback, endpoint.BaseUrlVariable);
        var key = endpoint.KeyRequired
            ? _environment.RequireKey(context, endpoint.KeyVariable, endpoint.Name)
            : _environment.Key(context, endpoint.KeyVariable) ?? HttpDefaults.NoKey;
        // The SDK client is thread-safe and costly to build (its pipeline and policies): one per
        // base URL, key and model, shared by the calls; the per-call wrapper leaves it undisposed.
        if (_clients.Count > MaxCachedClients)
        {
            _clients.Clear();
        }

        var transport = Transport();
        var chat = _clients.GetOrAdd((baseUrl, key, model.Model, transport), static k => new OpenAI.Chat.ChatClient(k.Model, new ApiKeyCredential(k.Key), new OpenAIClientOptions
        {
            Endpoint = k.BaseUrl,
            RetryPolicy = new ClientRetryPolicy(maxRetries: 0),
            NetworkTimeout = HttpDefaults.NetworkTimeout,
            Transport = k.Transport,
        }).AsIChatClient());
        return new OpenAIErrorTranslation(chat, model.ToString(), _environment.MaxAnswerBytes);
    }

    private const int MaxCachedClients = 64;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<(Uri BaseUrl, string Key, string Model, HttpClientPipelineTransport Transport), IChatClient> _clients = new();
    /// <summary>The process's HTTP transport under the answer-size cap (shared: connections are pooled across calls).</summary>
    private HttpClientPipelineTransport Transport() => AnswerLimit.SharedTransport(_environment.MaxAnswerBytes);
}

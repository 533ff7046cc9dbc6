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

    public OpenAICompatibleEndpoint Endpoint => endpoint;

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
        var options = new OpenAIClientOptions
        {
            Endpoint = baseUrl,
            RetryPolicy = new ClientRetryPolicy(maxRetries: 0),
            NetworkTimeout = HttpDefaults.NetworkTimeout,
        };
        var chat = new OpenAI.Chat.ChatClient(model.Model, new ApiKeyCredential(key), options).AsIChatClient();
        return new OpenAIErrorTranslation(chat, model.ToString());
    }
}

using System.ClientModel.Primitives;
using Azure;
using Azure.AI.OpenAI;
using LlmTasks.Providers.Http;
using LlmTasks.Providers.OpenAICompatible;
using Microsoft.Extensions.AI;

namespace LlmTasks.Providers.Azure;

/// <summary>
/// Azure OpenAI through the Azure.AI.OpenAI SDK: the model part is the deployment name. The SDK
/// builds Azure's own URL (/openai/deployments/{deployment}/chat/completions?api-version=…) and
/// api-key header, so nothing Azure-specific is hand-written here. Its retries are off.
/// </summary>
public sealed class AzureOpenAIProvider(ProviderEnvironment? environment = null) : IChatClientProvider
{
    public const string EndpointVariable = "AZURE_OPENAI_ENDPOINT";
    public const string KeyVariable = "AZURE_OPENAI_API_KEY";
    public const string VersionVariable = "AZURE_OPENAI_API_VERSION";
    public const string DefaultVersion = "2024-10-21";

    private readonly ProviderEnvironment _environment = environment ?? ProviderEnvironment.Process;

    public string Name => "azure";

    public int? DefaultConcurrency => null;

    /// <summary>Answers stream (server-sent events; for max/*, the CLI's stream-json).</summary>
    public bool StreamsAnswers => true;

    /// <summary>Its answers carry rate-limit headers that the pacing learns from.</summary>
    public bool ReportsRateLimits => true;

    public void Validate(ModelId model)
    {
    }

    public IChatClient CreateClient(ModelId model, ProviderCallContext context)
    {
        var endpoint = _environment.BaseUrl(context, Name, null, EndpointVariable);
        var key = _environment.RequireKey(context, KeyVariable, Name);
        var options = new AzureOpenAIClientOptions(ServiceVersion(_environment.Get(VersionVariable) ?? DefaultVersion))
        {
            RetryPolicy = new ClientRetryPolicy(maxRetries: 0),
            NetworkTimeout = HttpDefaults.NetworkTimeout,
            Transport = Transport(),
        };
        var chat = new AzureOpenAIClient(endpoint, new AzureKeyCredential(key), options).GetChatClient(model.Model).AsIChatClient();
        return new OpenAIErrorTranslation(chat, model.ToString(), _environment.MaxAnswerBytes);
    }

    /// <summary>The process's HTTP transport under the answer-size cap (shared: connections are pooled across calls).</summary>
    private HttpClientPipelineTransport Transport() => AnswerLimit.SharedTransport(_environment.MaxAnswerBytes);

    /// <summary>The SDK takes its known API versions only: '2024-10-21' → V2024_10_21; anything else is a clear error listing them.</summary>
    internal static AzureOpenAIClientOptions.ServiceVersion ServiceVersion(string text)
    {
        var name = "V" + text.Trim().Replace('-', '_');
        if (Enum.TryParse<AzureOpenAIClientOptions.ServiceVersion>(name, ignoreCase: true, out var version) && Enum.IsDefined(version))
        {
            return version;
        }

        var known = Enum.GetNames<AzureOpenAIClientOptions.ServiceVersion>().Select(n => n[1..].Replace('_', '-'));
        throw new LlmTasksException(ErrorIds.InvalidOption, LlmErrorCategory.InvalidArgument,
            $"$env:{VersionVariable} = '{text}' is not an API version this module's Azure SDK knows. Use one of: {string.Join(", ", known)}.") { Target = text };
    }
}

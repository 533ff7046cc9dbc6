namespace LlmTasks.Providers.OpenAICompatible;

/// <summary>
/// One OpenAI-compatible service: its prefix, conventional base URL and variables.
/// <paramref name="HostVariable"/> is a host (and port) the service's own tools use, such as OLLAMA_HOST; /v1 is added.
/// </summary>
public sealed record OpenAICompatibleEndpoint(string Name, string DefaultBaseUrl, string BaseUrlVariable, string KeyVariable, bool KeyRequired,
    string? HostVariable = null)
{
    public static OpenAICompatibleEndpoint OpenAI { get; } = new("openai", "https://api.openai.com/v1", "OPENAI_BASE_URL", "OPENAI_API_KEY", KeyRequired: true);
    public static OpenAICompatibleEndpoint Ollama { get; } = new("ollama", "http://localhost:11434/v1", "OLLAMA_BASE_URL", "OLLAMA_API_KEY", KeyRequired: false, HostVariable: "OLLAMA_HOST");
    public static OpenAICompatibleEndpoint Vllm { get; } = new("vllm", "http://localhost:8000/v1", "VLLM_BASE_URL", "VLLM_API_KEY", KeyRequired: false);
    public static OpenAICompatibleEndpoint LmStudio { get; } = new("lmstudio", "http://localhost:1234/v1", "LMSTUDIO_BASE_URL", "LMSTUDIO_API_KEY", KeyRequired: false);
    public static OpenAICompatibleEndpoint OpenRouter { get; } = new("openrouter", "https://openrouter.ai/api/v1", "OPENROUTER_BASE_URL", "OPENROUTER_API_KEY", KeyRequired: true);
    public static OpenAICompatibleEndpoint LiteLlm { get; } = new("litellm", "http://localhost:4000/v1", "LITELLM_BASE_URL", "LITELLM_API_KEY", KeyRequired: false);

    public static IReadOnlyList<OpenAICompatibleEndpoint> All { get; } = [OpenAI, Ollama, Vllm, LmStudio, OpenRouter, LiteLlm];

    /// <summary>OLLAMA_HOST as Ollama reads it (host, host:port or a URL) turned into its OpenAI-compatible base URL.</summary>
    internal static string? FromHost(string? host)
    {
        if (host is null)
        {
            return null;
        }

        var text = host.Contains("://", StringComparison.Ordinal) ? host : "http://" + host;
        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri))
        {
            return host; // reported as an invalid base URL with its source
        }

        var port = uri.IsDefaultPort && !host.Contains("://", StringComparison.Ordinal) ? 11434 : uri.Port;
        var path = uri.AbsolutePath.TrimEnd('/');
        return $"{uri.Scheme}://{uri.Host}:{port}{(path.EndsWith("/v1", StringComparison.Ordinal) ? path : path + "/v1")}";
    }
}

using LlmTasks.Providers.Anthropic;
using LlmTasks.Providers.Azure;
using LlmTasks.Providers.ClaudeCode;
using LlmTasks.Providers.Mock;
using LlmTasks.Providers.OpenAICompatible;

namespace LlmTasks.Providers;

/// <summary>The providers a task manager can route model strings to, by prefix.</summary>
public sealed class ProviderRegistry
{
    private readonly Dictionary<string, IChatClientProvider> _providers;

    /// <param name="defaultProvider">The prefix a new task's model without one takes (default: $env:LLMTASKS_DEFAULT_PROVIDER).</param>
    public ProviderRegistry(IEnumerable<IChatClientProvider> providers, string? defaultProvider = null)
    {
        _providers = providers.ToDictionary(p => p.Name, StringComparer.OrdinalIgnoreCase);
        DefaultProvider = defaultProvider ?? Configuration.EngineEnvironment.Process.Text(ModelId.DefaultProviderVariable);
    }

    /// <summary>The prefix a new task's model string without one takes; read once, when the registry is built.</summary>
    public string? DefaultProvider { get; }

    /// <summary>Every provider this build of the engine ships.</summary>
    public static ProviderRegistry CreateDefault() => new(
    [
        new MockProvider(),
        .. OpenAICompatibleEndpoint.All.Select(e => new OpenAICompatibleProvider(e)),
        new AzureOpenAIProvider(),
        new AnthropicProvider(),
        new ClaudeCodeProvider(),
    ]);

    public IReadOnlyCollection<string> Names => _providers.Keys;

    /// <summary>The providers that clean up after killed processes (<see cref="ILeftoverCleanup"/>).</summary>
    internal IEnumerable<ILeftoverCleanup> Cleanups => _providers.Values.OfType<ILeftoverCleanup>();

    /// <summary>
    /// Parses and validates a model string; a clear error names the known prefixes. With <paramref name="isNew"/>
    /// (a task being created) a string without a prefix takes <see cref="DefaultProvider"/>; a stored one never does.
    /// </summary>
    public (ModelId Model, IChatClientProvider Provider) Resolve(string? model, bool isNew = false)
    {
        var id = ParseKnown(model, isNew);
        var provider = _providers[id.Provider];
        provider.Validate(id);
        return (id, provider);
    }

    /// <summary>Parses a model string whose prefix must be a known provider (also for -MockResponse, which calls none).</summary>
    public ModelId ParseKnown(string? model, bool isNew = false)
    {
        var id = ModelId.Parse(model, Names, isNew ? DefaultProvider : null);
        if (!_providers.ContainsKey(id.Provider))
        {
            throw new LlmTasksException(ErrorIds.UnknownProvider, LlmErrorCategory.InvalidArgument,
                $"Unknown provider '{id.Provider}' in model '{model}'. Known prefixes: {string.Join(", ", Names.Select(n => n + "/"))}.")
            { Target = model };
        }

        return id;
    }
}

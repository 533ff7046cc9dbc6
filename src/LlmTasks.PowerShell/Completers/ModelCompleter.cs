using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;
using System.Globalization;
using LlmTasks.Providers;
using LlmTasks.Providers.Pricing;
using LlmTasks.Storage;

namespace LlmTasks.PowerShell.Completers;

/// <summary>
/// Completes -Model with the models seen in the store, then every provider the engine has (each prefix,
/// with examples), the tooltip saying what it is and which $env: variables it reads, then every model the
/// price map knows (Get-LlmModel), the tooltip giving its context window, prices and capabilities.
/// </summary>
public sealed class ModelCompleter : IArgumentCompleter
{
    private static readonly Dictionary<string, (string Tip, string[] Examples)> Described = new(StringComparer.OrdinalIgnoreCase)
    {
        ["mock"] = ("Offline, no network: echo, delay:<ms>, stream:<ms per word>, fail, sequence (with several -MockResponse)", ["mock/echo", "mock/delay:250", "mock/stream:100", "mock/fail", "mock/sequence"]),
        ["openai"] = ("OpenAI Chat Completions ($env:OPENAI_API_KEY; $env:OPENAI_BASE_URL)", ["openai/gpt-4o-mini", "openai/gpt-4o", "openai/gpt-4.1", "openai/gpt-4.1-mini"]),
        ["azure"] = ("Azure OpenAI: azure/<deployment name> ($env:AZURE_OPENAI_ENDPOINT, $env:AZURE_OPENAI_API_KEY)", []),
        ["anthropic"] = ("Anthropic Messages API ($env:ANTHROPIC_API_KEY; $env:ANTHROPIC_BASE_URL)", ["anthropic/claude-sonnet-4-5", "anthropic/claude-haiku-4-5", "anthropic/claude-opus-4-1"]),
        ["max"] = ("The local Claude Code CLI on your subscription login ($env:LLMTASKS_CLAUDE_PATH, else claude on PATH)", ["max/sonnet", "max/opus", "max/haiku"]),
        ["ollama"] = ("A local Ollama server ($env:OLLAMA_BASE_URL or $env:OLLAMA_HOST; default http://localhost:11434)", ["ollama/llama3.2"]),
        ["vllm"] = ("A vLLM server ($env:VLLM_BASE_URL; default http://localhost:8000/v1)", ["vllm/Qwen/Qwen2.5-7B-Instruct"]),
        ["lmstudio"] = ("LM Studio's local server ($env:LMSTUDIO_BASE_URL; default http://localhost:1234/v1)", ["lmstudio/qwen2.5-7b-instruct"]),
        ["openrouter"] = ("OpenRouter ($env:OPENROUTER_API_KEY)", ["openrouter/meta-llama/llama-3.1-8b-instruct"]),
        ["litellm"] = ("A LiteLLM proxy: litellm/<model alias> ($env:LITELLM_BASE_URL; default http://localhost:4000/v1)", []),
    };

    private static readonly Lazy<IReadOnlyList<(string Model, string Tip)>> Known = new(() =>
    [
        .. ProviderRegistry.CreateDefault().Names.Order(StringComparer.Ordinal).SelectMany(prefix =>
        {
            var (tip, examples) = Described.TryGetValue(prefix, out var described) ? described : ($"The {prefix} provider", []);
            return examples.Select(e => (e, tip)).Prepend((prefix + "/", tip));
        }),
    ]);

    /// <summary>The price map's models with their facts as a tooltip (read again when $env:LLMTASKS_MODEL_PRICES changes; a bad file: the shipped map).</summary>
    private static IEnumerable<(string Model, string Tip)> Priced() =>
        ModelCatalog.CurrentOrBuiltIn().Models.Select(m => (m.Model, Describe(m)));

    private static string Describe(LlmModelInfo model)
    {
        var parts = new List<string>();
        if (model.ContextWindow is { } window)
        {
            parts.Add($"{window.ToString("N0", CultureInfo.InvariantCulture)}-token context");
        }

        if (model.InputUsdPerMillion is { } input && model.OutputUsdPerMillion is { } output)
        {
            parts.Add($"${input.ToString("0.####", CultureInfo.InvariantCulture)} in / ${output.ToString("0.####", CultureInfo.InvariantCulture)} out per million tokens");
        }

        if (model.Capabilities.Length > 0)
        {
            parts.Add(string.Join(", ", model.Capabilities));
        }

        return parts.Count == 0 ? "In the price map" : string.Join(" · ", parts);
    }

    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        var prefix = wordToComplete.Trim('\'', '"');
        var seen = StoreCompletion.Values(commandName, fakeBoundParameters, path => StorePeek.DistinctModels(path, prefix));
        return seen.Select(m => (Model: m, Tip: "Used in this store"))
            .Concat(Known.Value)
            .Concat(Priced())
            .Where(m => m.Model.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
            .DistinctBy(m => m.Model, StringComparer.OrdinalIgnoreCase)
            .Select(m => StoreCompletion.Result(m.Model, m.Tip));
    }
}

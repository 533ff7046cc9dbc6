using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;

namespace LlmTasks.PowerShell.Completers;

/// <summary>Completes -Model with the known provider prefixes' common models and the models seen in the store.</summary>
public sealed class ModelCompleter : IArgumentCompleter
{
    private static readonly (string Model, string Tip)[] Known =
    [
        ("mock/echo", "Offline: answers with the last user message"),
        ("mock/delay:250", "Offline: waits 250 ms, then echoes"),
        ("mock/fail", "Offline: fails every call"),
        ("openai/gpt-4o-mini", "OpenAI Chat Completions ($env:OPENAI_API_KEY)"),
        ("openai/gpt-4o", "OpenAI Chat Completions ($env:OPENAI_API_KEY)"),
        ("anthropic/claude-sonnet-4-5", "Anthropic Messages API ($env:ANTHROPIC_API_KEY)"),
        ("anthropic/claude-haiku-4-5", "Anthropic Messages API ($env:ANTHROPIC_API_KEY)"),
        ("max/sonnet", "The local Claude Code CLI (your subscription)"),
        ("max/opus", "The local Claude Code CLI (your subscription)"),
        ("max/haiku", "The local Claude Code CLI (your subscription)"),
        ("ollama/llama3.2", "A local Ollama server ($env:OLLAMA_HOST)"),
    ];

    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        var prefix = wordToComplete.Trim('\'', '"');
        var seen = StoreCompletion.Values(commandName, fakeBoundParameters, store => store.DistinctModels(prefix));
        return seen.Select(m => (Model: m, Tip: "Used in this store"))
            .Concat(Known)
            .Where(m => m.Model.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
            .DistinctBy(m => m.Model, StringComparer.OrdinalIgnoreCase)
            .Select(m => StoreCompletion.Result(m.Model, m.Tip));
    }
}

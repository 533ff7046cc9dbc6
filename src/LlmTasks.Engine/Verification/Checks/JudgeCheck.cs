using System.Text.Json;
using LlmTasks.Providers;

namespace LlmTasks.Verification.Checks;

/// <summary>
/// Judge: asks a model for a structured verdict {passed, reasoning} on the output, by Criteria or a
/// Prompt with {OUTPUT} and {PROMPT} placeholders. The judge call (<see cref="JudgeModelCall"/>) is an attempt of its own (usage, cost).
/// </summary>
internal sealed class JudgeCheck : IOutputCheck
{
    private const string VerdictSchema = """
        {"type":"object","properties":{"passed":{"type":"boolean"},"reasoning":{"type":"string"}},"required":["passed","reasoning"],"additionalProperties":false}
        """;

    private readonly JudgeModelCall _call;

    public JudgeCheck(CheckSpec spec, ProviderRegistry providers, Func<string, Exception> invalid, bool isNew = true)
    {
        Spec = spec;
        if (string.IsNullOrWhiteSpace(spec.Model))
        {
            throw invalid("it needs Model, the judging model (provider/model).");
        }

        if (string.IsNullOrWhiteSpace(spec.Criteria) && string.IsNullOrWhiteSpace(spec.Prompt))
        {
            throw invalid("it needs Criteria, or a Prompt with {OUTPUT} (and optionally {PROMPT}) placeholders.");
        }

        if (spec.Prompt is { } prompt && !prompt.Contains("{OUTPUT}", StringComparison.Ordinal))
        {
            throw invalid("its Prompt has no {OUTPUT} placeholder, so the judge would not see the answer.");
        }

        _call = new JudgeModelCall(spec, providers, invalid, isNew);
    }

    public CheckSpec Spec { get; }

    public async Task<CheckVerdict> RunAsync(CheckContext context)
    {
        var answer = await _call.AskAsync(context, "You judge answers strictly. Reply only with JSON: {\"passed\": true|false, \"reasoning\": \"…\"}.",
            BuildPrompt(context.Output, context.Prompt), VerdictSchema, text => ReadVerdict(text, out var p) is null ? p : null).ConfigureAwait(false);
        var details = JsonSerializer.Serialize(answer.Details);
        if (ReadVerdict(answer.Text, out var problem) is not { } v)
        {
            return CheckVerdict.Fail($"The judge {Spec.Model} gave no usable verdict: {problem}", null, details);
        }

        return v.Passed
            ? new CheckVerdict(true, v.Reasoning, null, details)
            : CheckVerdict.Fail($"The judge {Spec.Model} says: {v.Reasoning}", Spec.Criteria is { } criteria ? $"Meet this: {criteria}" : "Address the judge's reasoning.", details);
    }

    private string BuildPrompt(string output, string? prompt) => Spec.Prompt is { } template
        ? template.Replace("{OUTPUT}", output, StringComparison.Ordinal).Replace("{PROMPT}", prompt ?? string.Empty, StringComparison.Ordinal)
        : $"""
          Judge whether the answer below meets the criteria.

          Criteria: {Spec.Criteria}

          The request was:
          {prompt}

          The answer was:
          {output}

          Reply only with JSON: {"{"}"passed": true or false, "reasoning": "one or two sentences"{"}"}.
          """;

    internal static (bool Passed, string Reasoning)? ReadVerdict(string? text, out string? problem)
    {
        if (!JsonText.TryParse(text ?? string.Empty, out var root, out problem))
        {
            return null;
        }

        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("passed", out var passed) || passed.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
        {
            problem = "the verdict has no boolean 'passed'.";
            return null;
        }

        var reasoning = root.TryGetProperty("reasoning", out var r) && r.ValueKind == JsonValueKind.String ? r.GetString()! : string.Empty;
        return (passed.GetBoolean(), reasoning);
    }
}

using System.Text;
using System.Text.Json;
using LlmTasks.Providers;

namespace LlmTasks.Verification.Checks;

/// <summary>
/// Contradiction: a judge call (the same call as Judge: <see cref="JudgeModelCall"/>) with a fixed prompt
/// that asks the Model for the contradictions and factual inconsistencies in the answer, and optionally
/// between the answer and a Reference text. It passes when the verdict lists none; otherwise the reason
/// lists each contradiction the judge found.
/// </summary>
internal sealed class ContradictionCheck : IOutputCheck
{
    internal const string SystemPrompt =
        "You check texts for contradictions and factual inconsistencies. You do not judge style, completeness, tone or opinions. Reply only with JSON.";

    private const string VerdictSchema = """
        {"type":"object","properties":{"passed":{"type":"boolean"},"contradictions":{"type":"array","items":{"type":"object","properties":{"claim":{"type":"string"},"conflictsWith":{"type":"string"},"explanation":{"type":"string"}},"required":["claim","conflictsWith","explanation"],"additionalProperties":false}},"reasoning":{"type":"string"}},"required":["passed","contradictions","reasoning"],"additionalProperties":false}
        """;

    private readonly JudgeModelCall _call;

    public ContradictionCheck(CheckSpec spec, ProviderRegistry providers, Func<string, Exception> invalid, bool isNew = true)
    {
        Spec = spec;
        if (spec.Reference is { } reference && string.IsNullOrWhiteSpace(reference))
        {
            throw invalid("its Reference is empty: give the text the answer must agree with, or leave Reference out.");
        }

        _call = new JudgeModelCall(spec, providers, invalid, isNew);
    }

    public CheckSpec Spec { get; }

    internal sealed record Contradiction(string Claim, string ConflictsWith, string Explanation);

    public async Task<CheckVerdict> RunAsync(CheckContext context)
    {
        var answer = await _call.AskAsync(context, SystemPrompt, BuildPrompt(context.Output, Spec.Reference), VerdictSchema,
            text => ReadVerdict(text, out var p) is null ? p : null).ConfigureAwait(false);
        if (ReadVerdict(answer.Text, out var problem) is not { } verdict)
        {
            return CheckVerdict.Fail($"The judge {Spec.Model} gave no usable contradiction verdict: {problem}", null, JsonSerializer.Serialize(answer.Details));
        }

        answer.Details["contradictions"] = verdict.Found.Select(c => new Dictionary<string, string> { ["claim"] = c.Claim, ["conflictsWith"] = c.ConflictsWith, ["explanation"] = c.Explanation }).ToArray();
        var details = JsonSerializer.Serialize(answer.Details);
        if (verdict.Found.Count == 0 && verdict.Passed)
        {
            return new CheckVerdict(true, string.IsNullOrWhiteSpace(verdict.Reasoning) ? "no contradiction found" : verdict.Reasoning, null, details);
        }

        if (verdict.Found.Count == 0)
        {
            return CheckVerdict.Fail($"The judge {Spec.Model} found the answer inconsistent but named no contradiction: {verdict.Reasoning}",
                "Make every statement in the answer agree with the others" + (Spec.Reference is null ? "." : " and with the reference."), details);
        }

        var listed = string.Join("; ", verdict.Found.Select((c, i) => $"{i + 1}. \"{NotEmptyCheck.Shorten(c.Claim, 160)}\" contradicts \"{NotEmptyCheck.Shorten(c.ConflictsWith, 160)}\": {c.Explanation}"));
        return CheckVerdict.Fail($"The judge {Spec.Model} found {verdict.Found.Count} contradiction(s): {listed}",
            "Resolve each contradiction listed: keep the statement that is true" + (Spec.Reference is null ? "" : " (the reference decides)") + " and correct or remove the other.", details);
    }

    /// <summary>The fixed prompt (documented in about_LlmTasks): the answer, and the reference when there is one.</summary>
    internal static string BuildPrompt(string output, string? reference)
    {
        var text = new StringBuilder();
        text.AppendLine("Find every contradiction in the answer below:");
        text.AppendLine("- two statements in the answer that cannot both be true;");
        text.AppendLine("- a fact (a number, date, name, quantity or unit) stated one way and later another way, or a calculation whose result does not follow from its own figures;");
        if (reference is not null)
        {
            text.AppendLine("- a statement in the answer that contradicts the reference text. The reference is taken as true.");
        }

        text.AppendLine("Do not report missing information, style, or opinions you disagree with. Report only real contradictions.");
        text.AppendLine();
        if (reference is not null)
        {
            text.AppendLine("The reference text:").AppendLine("<<<").AppendLine(reference).AppendLine(">>>").AppendLine();
        }

        text.AppendLine("The answer:").AppendLine("<<<").AppendLine(output).AppendLine(">>>").AppendLine();
        var other = reference is null ? "the statement it contradicts" : "the statement or reference text it contradicts";
        text.Append("Reply only with JSON: {\"passed\": true if there is no contradiction, \"contradictions\": [{\"claim\": \"the statement in the answer\", ")
            .Append("\"conflictsWith\": \"").Append(other).Append("\", \"explanation\": \"why both cannot be true\"}], \"reasoning\": \"one sentence\"}.");
        return text.ToString();
    }

    internal static (bool Passed, IReadOnlyList<Contradiction> Found, string Reasoning)? ReadVerdict(string? text, out string? problem)
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

        var found = new List<Contradiction>();
        if (root.TryGetProperty("contradictions", out var list))
        {
            if (list.ValueKind != JsonValueKind.Array)
            {
                problem = "the verdict's 'contradictions' is not a list.";
                return null;
            }

            foreach (var item in list.EnumerateArray())
            {
                found.Add(item.ValueKind == JsonValueKind.Object
                    ? new Contradiction(Text(item, "claim"), Text(item, "conflictsWith"), Text(item, "explanation"))
                    : new Contradiction(item.ToString(), string.Empty, string.Empty));
            }
        }

        var reasoning = root.TryGetProperty("reasoning", out var r) && r.ValueKind == JsonValueKind.String ? r.GetString()! : string.Empty;
        return (passed.GetBoolean(), found, reasoning);
    }

    private static string Text(JsonElement item, string name) =>
        item.TryGetProperty(name, out var v) ? (v.ValueKind == JsonValueKind.String ? v.GetString() ?? string.Empty : v.ToString()) : string.Empty;
}

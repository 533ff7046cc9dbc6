namespace LlmTasks.Verification.Checks;

/// <summary>Length: the trimmed output has between Min and Max characters (or words, with Words).</summary>
internal sealed class LengthCheck : IOutputCheck
{
    public LengthCheck(CheckSpec spec, Func<string, Exception> invalid)
    {
        Spec = spec;
        if (spec.Min is null && spec.Max is null)
        {
            throw invalid("it needs Min, Max or both.");
        }

        if (spec.Min is < 0 || spec.Max is < 0 || (spec.Min is { } min && spec.Max is { } max && min > max))
        {
            throw invalid($"Min ({spec.Min}) and Max ({spec.Max}) must be non-negative with Min <= Max.");
        }
    }

    public CheckSpec Spec { get; }

    public Task<CheckVerdict> RunAsync(CheckContext context)
    {
        var words = Spec.Words == true;
        var text = context.Output.Trim();
        var count = words ? CountWords(text) : text.Length;
        var unit = words ? "words" : "characters";
        var range = (Spec.Min, Spec.Max) switch
        {
            ({ } a, { } b) when a == b => $"exactly {a}",
            ({ } a, { } b) => $"between {a} and {b}",
            ({ } a, null) => $"at least {a}",
            (null, { } b) => $"at most {b}",
            _ => "any number of",
        };
        return Task.FromResult(count < (Spec.Min ?? 0) || count > (Spec.Max ?? int.MaxValue)
            ? CheckVerdict.Fail($"The output has {count} {unit}; it must have {range}.", $"Answer with {range} {unit}, nothing else.")
            : CheckVerdict.Pass($"{count} {unit}"));
    }

    internal static int CountWords(string text) =>
        text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).Count(w => w.Any(char.IsLetterOrDigit));
}

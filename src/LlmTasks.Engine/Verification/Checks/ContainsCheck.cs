namespace LlmTasks.Verification.Checks;

/// <summary>Contains (every text is present) and NotContains (none is), case-insensitive unless CaseSensitive.</summary>
internal sealed class ContainsCheck : IOutputCheck
{
    private readonly bool _negate;

    public ContainsCheck(CheckSpec spec, bool negate, Func<string, Exception> invalid)
    {
        Spec = spec;
        _negate = negate;
        if (spec.Text is not { Count: > 0 } || spec.Text.Any(string.IsNullOrEmpty))
        {
            throw invalid("it needs Text: a non-empty string or a list of them.");
        }
    }

    public CheckSpec Spec { get; }

    public Task<CheckVerdict> RunAsync(CheckContext context)
    {
        var comparison = Spec.CaseSensitive == true ? StringComparison.Ordinal : StringComparison.OrdinalIgnoreCase;
        var present = Spec.Text!.Where(t => context.Output.Contains(t, comparison)).ToArray();
        if (_negate)
        {
            return Task.FromResult(present.Length == 0
                ? CheckVerdict.Pass()
                : CheckVerdict.Fail($"The output contains {Quote(present)}, which it must not.", $"Leave out {Quote(present)}."));
        }

        var missing = Spec.Text!.Except(present).ToArray();
        return Task.FromResult(missing.Length == 0
            ? CheckVerdict.Pass()
            : CheckVerdict.Fail($"The output does not contain {Quote(missing)}.", $"Include {Quote(missing)} in the answer."));
    }

    private static string Quote(IEnumerable<string> texts) => string.Join(", ", texts.Select(t => $"'{t}'"));
}

using System.Text.RegularExpressions;

namespace LlmTasks.Verification.Checks;

/// <summary>Regex: the pattern matches somewhere in the output, within a match timeout (default 1 s).</summary>
internal sealed class RegexCheck : IOutputCheck
{
    private readonly Regex _regex;

    public RegexCheck(CheckSpec spec, Func<string, Exception> invalid)
    {
        Spec = spec;
        if (string.IsNullOrEmpty(spec.Pattern))
        {
            throw invalid("it needs Pattern.");
        }

        var options = RegexOptions.None;
        if (!string.IsNullOrWhiteSpace(spec.Options))
        {
            foreach (var name in spec.Options.Split([',', ' ', '|'], StringSplitOptions.RemoveEmptyEntries))
            {
                if (!Enum.TryParse<RegexOptions>(name, ignoreCase: true, out var option) || int.TryParse(name, out _))
                {
                    throw invalid($"the Options '{spec.Options}' are not RegexOptions names (IgnoreCase, Multiline, Singleline, ExplicitCapture, IgnorePatternWhitespace, CultureInvariant).");
                }

                options |= option;
            }
        }

        if (spec.TimeoutMs is <= 0)
        {
            throw invalid($"TimeoutMs must be positive; got {spec.TimeoutMs}.");
        }

        try
        {
            _regex = new Regex(spec.Pattern, options, TimeSpan.FromMilliseconds(spec.TimeoutMs ?? 1000));
        }
        catch (ArgumentException e)
        {
            throw invalid($"the Pattern is not a valid regular expression: {e.Message}");
        }
    }

    public CheckSpec Spec { get; }

    public Task<CheckVerdict> RunAsync(CheckContext context)
    {
        try
        {
            var match = _regex.Match(context.Output);
            return Task.FromResult(match.Success
                ? CheckVerdict.Pass($"matched '{NotEmptyCheck.Shorten(match.Value, 80)}' at {match.Index}")
                : CheckVerdict.Fail($"The output does not match the pattern /{Spec.Pattern}/.", $"Write the answer so that it matches /{Spec.Pattern}/."));
        }
        catch (RegexMatchTimeoutException)
        {
            return Task.FromResult(CheckVerdict.Fail($"Matching /{Spec.Pattern}/ took longer than {_regex.MatchTimeout.TotalMilliseconds} ms; the check gave up."));
        }
    }
}

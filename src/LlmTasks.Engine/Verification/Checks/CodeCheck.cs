using System.Text.Json;
using System.Text.RegularExpressions;

namespace LlmTasks.Verification.Checks;

/// <summary>
/// Code: PowerShell parses without errors (through the host's <see cref="ICodeParser"/>: the PowerShell
/// parser), Json parses; for any other language a fenced block of that language must be present.
/// The code is the first fenced block of the language (or an untagged one), else the whole output.
/// </summary>
internal sealed class CodeCheck : IOutputCheck
{
    private static readonly Dictionary<string, string[]> Aliases = new(StringComparer.OrdinalIgnoreCase)
    {
        ["powershell"] = ["powershell", "pwsh", "ps1", "ps", "posh"],
        ["json"] = ["json"],
        ["python"] = ["python", "py", "python3"],
        ["javascript"] = ["javascript", "js", "node"],
        ["typescript"] = ["typescript", "ts"],
        ["csharp"] = ["csharp", "cs", "c#"],
        ["bash"] = ["bash", "sh", "shell", "zsh"],
    };

    private readonly string[] _tags;

    public CodeCheck(CheckSpec spec, Func<string, Exception> invalid)
    {
        Spec = spec;
        if (string.IsNullOrWhiteSpace(spec.Language))
        {
            throw invalid("it needs Language (PowerShell, Json, or the name of another language).");
        }

        var language = spec.Language.Trim();
        _tags = Aliases.TryGetValue(language, out var tags) ? tags
            : Aliases.Values.FirstOrDefault(v => v.Contains(language, StringComparer.OrdinalIgnoreCase)) ?? [language];
    }

    public CheckSpec Spec { get; }

    private string Canonical => _tags[0];

    public Task<CheckVerdict> RunAsync(CheckContext context)
    {
        var (code, fenced) = Extract(context.Output);
        if (Canonical.Equals("json", StringComparison.OrdinalIgnoreCase))
        {
            try
            {
                using var _ = JsonDocument.Parse(code);
                return Task.FromResult(CheckVerdict.Pass());
            }
            catch (JsonException e)
            {
                return Task.FromResult(CheckVerdict.Fail($"The JSON code does not parse at line {(e.LineNumber ?? 0) + 1}, position {(e.BytePositionInLine ?? 0) + 1}.", "Write valid JSON."));
            }
        }

        if (Canonical.Equals("powershell", StringComparison.OrdinalIgnoreCase))
        {
            if (string.IsNullOrWhiteSpace(code))
            {
                return Task.FromResult(CheckVerdict.Fail("The output holds no PowerShell code.", "Answer with PowerShell code in a ```powershell block."));
            }

            var errors = context.Environment.Services.CodeParser?.ParseErrors("PowerShell", code);
            if (errors is null)
            {
                return Task.FromResult(new CheckVerdict(false, "No PowerShell parser is available in this process (load the LlmTasks module).", Unavailable: true));
            }

            return Task.FromResult(errors.Count == 0
                ? CheckVerdict.Pass()
                : CheckVerdict.Fail("The PowerShell code does not parse: " + string.Join("; ", errors), "Fix the syntax errors listed.",
                    JsonSerializer.Serialize(errors)));
        }

        return Task.FromResult(fenced
            ? CheckVerdict.Pass()
            : CheckVerdict.Fail($"The output has no fenced ```{Canonical} code block.", $"Put the code in a fenced block tagged {Canonical}."));
    }

    /// <summary>The first fenced block tagged with the language (or untagged); else the whole output.</summary>
    private (string Code, bool Fenced) Extract(string output)
    {
        foreach (Match block in Regex.Matches(output, @"```(?<tag>[^\s`]*)[ \t]*\r?\n(?<body>.*?)\r?\n?[ \t]*```", RegexOptions.Singleline, TimeSpan.FromSeconds(1)))
        {
            var tag = block.Groups["tag"].Value;
            if (_tags.Contains(tag, StringComparer.OrdinalIgnoreCase))
            {
                return (block.Groups["body"].Value, true);
            }
        }

        foreach (Match block in Regex.Matches(output, @"```[ \t]*\r?\n(?<body>.*?)\r?\n?[ \t]*```", RegexOptions.Singleline, TimeSpan.FromSeconds(1)))
        {
            return (block.Groups["body"].Value, false);
        }

        return (output, false);
    }
}

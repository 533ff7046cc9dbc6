using System.Text.RegularExpressions;

namespace LlmTasks.Verification;

/// <summary>
/// The code a check looks at: the first fenced block tagged with one of the language's tags, else the
/// first untagged fenced block, else the whole output. <see cref="StartLine"/> is the block's first line in
/// the output (1 for the whole output), so positions can be given in the output's own lines.
/// </summary>
internal sealed partial record FencedCode(string Code, bool Fenced, string? Tag, int StartLine)
{
    public static FencedCode Extract(string? output, params string[] tags)
    {
        var text = output ?? string.Empty;
        Match? untagged = null;
        foreach (Match block in Block().Matches(text))
        {
            var tag = block.Groups["tag"].Value;
            if (tag.Length == 0)
            {
                untagged ??= block;
            }
            else if (tags.Contains(tag, StringComparer.OrdinalIgnoreCase))
            {
                return From(text, block);
            }
        }

        return untagged is null ? new FencedCode(text, false, null, 1) : From(text, untagged);
    }

    /// <summary>"line 3, column 7" of the output for a 1-based line and column in the code.</summary>
    public string Where(int line, int column) => $"line {line + StartLine - 1}, column {column}";

    private static FencedCode From(string text, Match block)
    {
        var body = block.Groups["body"];
        var startLine = 1 + text.AsSpan(0, body.Index).Count('\n');
        return new FencedCode(body.Value, true, block.Groups["tag"].Value, startLine);
    }

    [GeneratedRegex(@"```(?<tag>[^\s`]*)[^\n`]*\r?\n(?<body>.*?)\r?\n?[ \t]*```", RegexOptions.Singleline, matchTimeoutMilliseconds: 1000)]
    private static partial Regex Block();
}

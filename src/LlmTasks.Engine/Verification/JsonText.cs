using System.Text.Json;
using System.Text.RegularExpressions;

namespace LlmTasks.Verification;

/// <summary>The JSON in an output: the whole text, or the first fenced ```json block; parse errors with their position.</summary>
internal static partial class JsonText
{
    public static bool TryParse(string output, out JsonElement root, out string? problem)
    {
        var candidate = Extract(output);
        try
        {
            using var document = JsonDocument.Parse(candidate, new JsonDocumentOptions { AllowTrailingCommas = false });
            root = document.RootElement.Clone();
            problem = null;
            return true;
        }
        catch (JsonException e)
        {
            root = default;
            var where = e.LineNumber is { } line ? $" at line {line + 1}, position {(e.BytePositionInLine ?? 0) + 1}" : string.Empty;
            var message = e.Message;
            var cut = message.IndexOf(" LineNumber:", StringComparison.Ordinal);
            problem = candidate.Trim().Length == 0
                ? "The output holds no JSON (it is empty)."
                : $"The output is not valid JSON{where}: {(cut > 0 ? message[..cut] : message)}";
            return false;
        }
    }

    /// <summary>The text of the first fenced block tagged json (or untagged), else the whole output.</summary>
    public static string Extract(string output)
    {
        var text = (output ?? string.Empty).Trim();
        return Fenced().Match(text) is { Success: true } fence ? fence.Groups["body"].Value.Trim() : text;
    }

    [GeneratedRegex(@"```(?:json)?[ \t]*\r?\n(?<body>.*?)\r?\n[ \t]*```", RegexOptions.Singleline | RegexOptions.IgnoreCase)]
    private static partial Regex Fenced();
}

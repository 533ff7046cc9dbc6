using System.Text.Json;
using System.Text.RegularExpressions;

namespace LlmTasks.Execution;

/// <summary>Reads the JSON in a model's answer: the whole text, or the first fenced ```json block.</summary>
internal static partial class StructuredAnswer
{
    /// <summary>The ErrorKind of an answer that is not the JSON the task asked for.</summary>
    public const string InvalidJsonKind = "InvalidJson";

    public static bool TryRead(string? text, out string? json, out string? problem)
    {
        json = null;
        var candidate = (text ?? string.Empty).Trim();
        if (Fenced().Match(candidate) is { Success: true } fence)
        {
            candidate = fence.Groups["body"].Value.Trim();
        }

        try
        {
            using var document = JsonDocument.Parse(candidate);
            json = JsonSerializer.Serialize(document.RootElement);
            problem = null;
            return true;
        }
        catch (JsonException e)
        {
            problem = $"The answer is not valid JSON ({e.Message})";
            return false;
        }
    }

    [GeneratedRegex(@"```(?:json)?\s*\n(?<body>.*?)\n\s*```", RegexOptions.Singleline | RegexOptions.IgnoreCase)]
    private static partial Regex Fenced();
}

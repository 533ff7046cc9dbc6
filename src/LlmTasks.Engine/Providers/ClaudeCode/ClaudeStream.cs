using System.Text.Json;

namespace LlmTasks.Providers.ClaudeCode;

/// <summary>
/// Reads the CLI's stream-json partial messages (<c>--include-partial-messages</c>): a line
/// <c>{"type":"stream_event","event":{"type":"content_block_delta","delta":{"type":"text_delta","text":…}}}</c> is a
/// piece of text the model just wrote. Every other line (messages, tool use, the result) is read as before.
/// </summary>
internal static class ClaudeStream
{
    /// <summary>The text of a text-delta line; null for any other line.</summary>
    public static string? TextDelta(string line)
    {
        if (!line.Contains("\"stream_event\"", StringComparison.Ordinal) || !line.Contains("\"text_delta\"", StringComparison.Ordinal))
        {
            return null;
        }

        try
        {
            using var document = JsonDocument.Parse(line);
            var root = document.RootElement;
            return root.ValueKind == JsonValueKind.Object
                && Text(root, "type") == "stream_event"
                && root.TryGetProperty("event", out var e) && e.ValueKind == JsonValueKind.Object
                && Text(e, "type") == "content_block_delta"
                && e.TryGetProperty("delta", out var delta) && delta.ValueKind == JsonValueKind.Object
                && Text(delta, "type") == "text_delta"
                    ? Text(delta, "text")
                    : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static string? Text(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}

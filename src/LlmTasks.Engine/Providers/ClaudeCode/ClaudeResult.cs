using System.Text.Json;
using System.Text.Json.Nodes;

namespace LlmTasks.Providers.ClaudeCode;

/// <summary>The CLI's <c>{"type":"result",…}</c> object: how the run ended, the answer, usage and cost.</summary>
internal sealed record ClaudeResult
{
    public string? Subtype { get; init; }
    public bool IsError { get; init; }
    public int? ApiErrorStatus { get; init; }
    public string? ApiErrorType { get; init; }
    public string? Result { get; init; }
    public string? SessionId { get; init; }
    public int? NumTurns { get; init; }
    public string? TerminalReason { get; init; }
    public string? StopReason { get; init; }
    public decimal? TotalCostUsd { get; init; }
    public long? InputTokens { get; init; }
    public long? OutputTokens { get; init; }
    public long? CacheReadTokens { get; init; }
    public long? CacheCreationTokens { get; init; }
    public long? DurationMs { get; init; }
    /// <summary>The denied tool calls, as a JSON array text ("[]" when none).</summary>
    public string PermissionDenials { get; init; } = "[]";
    public int PermissionDenialCount { get; init; }
    /// <summary>structured_output as JSON text; null when the key is absent.</summary>
    public string? StructuredOutput { get; init; }
    public IReadOnlyList<string> Errors { get; init; } = [];

    /// <summary>
    /// The last result line of the CLI's stdout (json output is one line; stream-json ends with the
    /// run's result after the acknowledgements of earlier turns). Null when there is none.
    /// </summary>
    public static ClaudeResult? FindLast(string stdout)
    {
        var lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        for (var i = lines.Length - 1; i >= 0; i--)
        {
            if (!lines[i].StartsWith('{'))
            {
                continue;
            }

            JsonObject? item;
            try
            {
                item = JsonNode.Parse(lines[i]) as JsonObject;
            }
            catch (JsonException)
            {
                continue;
            }

            if (item is not null && Text(item, "type") == "result")
            {
                return From(item);
            }
        }

        return null;
    }

    public static bool IsResultLine(string line) =>
        line.Contains("\"type\":\"result\"", StringComparison.Ordinal) && line.TrimStart().StartsWith('{');

    internal static ClaudeResult From(JsonObject item)
    {
        var usage = item["usage"] as JsonObject;
        var denials = item["permission_denials"] as JsonArray;
        return new ClaudeResult
        {
            Subtype = Text(item, "subtype"),
            IsError = item["is_error"] is JsonValue v && v.TryGetValue<bool>(out var b) && b,
            ApiErrorStatus = Long(item, "api_error_status") is { } s ? (int)s : null,
            ApiErrorType = Text(item, "api_error_type"),
            Result = Text(item, "result"),
            SessionId = Text(item, "session_id"),
            NumTurns = Long(item, "num_turns") is { } t ? (int)t : null,
            TerminalReason = Text(item, "terminal_reason"),
            StopReason = Text(item, "stop_reason"),
            TotalCostUsd = item["total_cost_usd"] is JsonValue c && c.TryGetValue<decimal>(out var cost) ? cost : null,
            InputTokens = usage is null ? null : Long(usage, "input_tokens"),
            OutputTokens = usage is null ? null : Long(usage, "output_tokens"),
            CacheReadTokens = usage is null ? null : Long(usage, "cache_read_input_tokens"),
            CacheCreationTokens = usage is null ? null : Long(usage, "cache_creation_input_tokens"),
            DurationMs = Long(item, "duration_ms"),
            PermissionDenials = denials?.ToJsonString() ?? "[]",
            PermissionDenialCount = denials?.Count ?? 0,
            StructuredOutput = item.TryGetPropertyValue("structured_output", out var structured) ? structured?.ToJsonString() ?? "null" : null,
            Errors = item["errors"] is JsonArray errors ? errors.Select(e => e?.ToString() ?? string.Empty).Where(e => e.Length > 0).ToList() : [],
        };
    }

    /// <summary>What the attempt keeps about the run (a JSON object).</summary>
    public string DetailsJson() => new JsonObject
    {
        ["session_id"] = SessionId,
        ["subtype"] = Subtype,
        ["terminal_reason"] = TerminalReason,
        ["stop_reason"] = StopReason,
        ["num_turns"] = NumTurns,
        ["duration_ms"] = DurationMs,
        ["total_cost_usd"] = TotalCostUsd,
        ["cache_read_input_tokens"] = CacheReadTokens,
        ["cache_creation_input_tokens"] = CacheCreationTokens,
        ["permission_denials"] = JsonNode.Parse(PermissionDenials),
    }.ToJsonString();

    private static string? Text(JsonObject item, string name) =>
        item[name] is JsonValue value && value.TryGetValue<string>(out var text) ? text : null;

    private static long? Long(JsonObject item, string name) =>
        item[name] is JsonValue value && value.TryGetValue<long>(out var n) ? n
        : item[name] is JsonValue d && d.TryGetValue<double>(out var x) ? (long)x : null;
}

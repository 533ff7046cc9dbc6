using System.Text.Json;

namespace LlmTasks.Tests.Http;

/// <summary>Response bodies in the shapes the real APIs send (recorded, trimmed to what matters).</summary>
public static class RecordedResponses
{
    public static string OpenAIChat(string text, int input = 31, int output = 2) =>
        """{"id":"chatcmpl-1","object":"chat.completion","created":1730000000,"model":"gpt-4o-mini-2024-07-18","choices":[{"index":0,"message":{"role":"assistant","content":"""
        + S(text) + ""","refusal":null},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":"""
        + input + ""","completion_tokens":""" + output + ""","total_tokens":""" + (input + output) + "}}";

    public static string OpenAIError(string message, string type, string? code = null) =>
        """{"error":{"message":""" + S(message) + ""","type":""" + S(type) + ""","param":null,"code":""" + S(code) + "}}";

    public static string AnthropicMessage(string text, int input = 25, int output = 3) =>
        """{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[{"type":"text","text":"""
        + S(text) + """}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":""" + input + ""","output_tokens":""" + output + "}}";

    public static string AnthropicError(string type, string message) =>
        """{"type":"error","error":{"type":""" + S(type) + ""","message":""" + S(message) + """},"request_id":"req_1"}""";

    /// <summary>
    /// The server-sent events a streaming request gets for the same answer: an OpenAI chat completion becomes its
    /// chat.completion.chunk events (role, the text in pieces of at most <paramref name="piece"/> characters, the
    /// finish reason, usage, [DONE]); an Anthropic message its message_start … message_stop events. Null for any other body.
    /// </summary>
    public static IReadOnlyList<string>? AsStream(string body, int piece = 8)
    {
        try
        {
            return TryAsStream(body, piece);
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            return null; // not the shape of an answer: sent as it is
        }
    }

    private static IReadOnlyList<string>? TryAsStream(string body, int piece)
    {
        JsonElement root;
        try
        {
            root = JsonDocument.Parse(body).RootElement.Clone();
        }
        catch (JsonException)
        {
            return null;
        }

        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("object", out var kind) && !root.TryGetProperty("type", out kind))
        {
            return null;
        }

        if (kind.ValueKind == JsonValueKind.String && kind.GetString() == "chat.completion" && root.TryGetProperty("choices", out var choices) && choices.GetArrayLength() > 0)
        {
            var choice = choices[0];
            var text = choice.GetProperty("message").TryGetProperty("content", out var c) && c.ValueKind == JsonValueKind.String ? c.GetString()! : string.Empty;
            var usage = root.TryGetProperty("usage", out var u) ? u : default;
            return OpenAIStream(Pieces(text, piece), usage.ValueKind == JsonValueKind.Object ? usage.GetProperty("prompt_tokens").GetInt32() : 31,
                usage.ValueKind == JsonValueKind.Object ? usage.GetProperty("completion_tokens").GetInt32() : 2,
                choice.TryGetProperty("finish_reason", out var f) && f.ValueKind == JsonValueKind.String ? f.GetString()! : "stop");
        }

        if (kind.ValueKind == JsonValueKind.String && kind.GetString() == "message" && root.TryGetProperty("content", out var content))
        {
            var text = string.Concat(content.EnumerateArray().Where(b => b.GetProperty("type").GetString() == "text").Select(b => b.GetProperty("text").GetString()));
            var usage = root.GetProperty("usage");
            return AnthropicStream(Pieces(text, piece), usage.GetProperty("input_tokens").GetInt32(), usage.GetProperty("output_tokens").GetInt32(),
                root.TryGetProperty("stop_reason", out var stop) && stop.ValueKind == JsonValueKind.String ? stop.GetString()! : "end_turn");
        }

        return null;
    }

    /// <summary>An OpenAI chat stream: the role, each piece as a delta, then (unless <paramref name="finish"/> is null) the finish reason, usage and [DONE].</summary>
    public static IReadOnlyList<string> OpenAIStream(IEnumerable<string> pieces, int input = 31, int output = 2, string? finish = "stop")
    {
        static string Chunk(string choices, string? usage = null) =>
            "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1730000000,\"model\":\"gpt-4o-mini-2024-07-18\",\"choices\":"
            + choices + (usage is null ? string.Empty : ",\"usage\":" + usage) + "}";
        var events = new List<string> { Chunk("[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"logprobs\":null,\"finish_reason\":null}]") };
        events.AddRange(pieces.Select(p => Chunk("[{\"index\":0,\"delta\":{\"content\":" + S(p) + "},\"logprobs\":null,\"finish_reason\":null}]")));
        if (finish is not null)
        {
            events.Add(Chunk("[{\"index\":0,\"delta\":{},\"logprobs\":null,\"finish_reason\":" + S(finish) + "}]"));
            events.Add(Chunk("[]", "{\"prompt_tokens\":" + input + ",\"completion_tokens\":" + output + ",\"total_tokens\":" + (input + output) + "}"));
            events.Add("data: [DONE]");
        }

        return events;
    }

    /// <summary>An Anthropic Messages stream: message_start, one text block in pieces, then (unless <paramref name="stop"/> is null) message_delta and message_stop.</summary>
    public static IReadOnlyList<string> AnthropicStream(IEnumerable<string> pieces, int input = 25, int output = 3, string? stop = "end_turn")
    {
        var events = new List<string>
        {
            "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-sonnet-4-5-20250929\",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":" + input + ",\"output_tokens\":1}}}",
            "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}",
        };
        events.AddRange(pieces.Select(p => "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":" + S(p) + "}}"));
        if (stop is not null)
        {
            events.Add("event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}");
            events.Add("event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":" + S(stop) + ",\"stop_sequence\":null},\"usage\":{\"output_tokens\":" + output + "}}");
            events.Add("event: message_stop\ndata: {\"type\":\"message_stop\"}");
        }

        return events;
    }

    /// <summary>The text in pieces of at most <paramref name="size"/> characters (one empty piece for no text).</summary>
    public static IEnumerable<string> Pieces(string text, int size)
    {
        if (text.Length == 0)
        {
            yield break;
        }

        for (var i = 0; i < text.Length; i += size)
        {
            yield return text.Substring(i, Math.Min(size, text.Length - i));
        }
    }

    private static string S(string? value) => JsonSerializer.Serialize(value);
}

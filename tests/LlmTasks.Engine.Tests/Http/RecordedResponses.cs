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

    private static string S(string? value) => JsonSerializer.Serialize(value);
}

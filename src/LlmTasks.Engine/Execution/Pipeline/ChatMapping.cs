using Microsoft.Extensions.AI;

namespace LlmTasks.Execution.Pipeline;

/// <summary>The one mapping between the engine's messages and Microsoft.Extensions.AI's, both ways, and a request's chat options.</summary>
internal static class ChatMapping
{
    public static List<ChatMessage> ToChat(IReadOnlyList<LlmMessage> messages)
    {
        var list = new List<ChatMessage>(messages.Count);
        foreach (var m in messages)
        {
            list.Add(new ChatMessage(m.Role switch
            {
                LlmRole.System => ChatRole.System,
                LlmRole.Assistant => ChatRole.Assistant,
                _ => ChatRole.User,
            }, m.Content));
        }

        return list;
    }

    public static List<LlmMessage> FromChat(IEnumerable<ChatMessage> messages) =>
        messages.Select(m => new LlmMessage(m.Role == ChatRole.System ? LlmRole.System : m.Role == ChatRole.Assistant ? LlmRole.Assistant : LlmRole.User, m.Text)).ToList();

    /// <summary>The request's options for the provider: its schema (parsed once, see <see cref="LlmTaskRequest.ParsedJsonSchema"/>) or JSON mode, limits and stops.</summary>
    public static ChatOptions ToOptions(LlmTaskRequest request, string? model, string schemaName = "response") => new()
    {
        ModelId = model,
        Temperature = request.Temperature is { } t ? (float)t : null,
        MaxOutputTokens = request.MaxTokens,
        StopSequences = request.StopSequences?.ToList(),
        ResponseFormat = request.ParsedJsonSchema is { } schema
            ? ChatResponseFormat.ForJsonSchema(schema, schemaName)
            : request.ResponseFormat == LlmResponseFormat.Json ? ChatResponseFormat.Json : null,
    };
}

namespace LlmTasks;

/// <summary>
/// What a task asks of a model. Stored as JSON with the task; it never holds secrets
/// (API keys are resolved when the task runs, from the environment or the caller's process).
/// </summary>
public sealed record LlmTaskRequest
{
    public required string Model { get; init; }
    public required IReadOnlyList<LlmMessage> Messages { get; init; }
    public string? Name { get; init; }
    public double? Temperature { get; init; }
    public int? MaxTokens { get; init; }
    /// <summary>Time allowed for one model call; null means no limit.</summary>
    public double? TimeoutSec { get; init; }
    /// <summary>When set, the task answers with this text without any network, whatever the model.</summary>
    public string? MockResponse { get; init; }

    /// <summary>The last user message: what lists and previews show as the task's prompt.</summary>
    public string Prompt => Messages.LastOrDefault(m => m.Role == LlmRole.User)?.Content ?? string.Empty;
}

namespace LlmTasks;

public enum LlmRole
{
    System,
    User,
    Assistant,
}

/// <summary>One turn of a conversation sent to a model.</summary>
public sealed record LlmMessage(LlmRole Role, string Content)
{
    public override string ToString() => $"{Role.ToString().ToLowerInvariant()}: {Content}";
}

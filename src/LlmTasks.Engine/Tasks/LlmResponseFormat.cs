namespace LlmTasks;

public enum LlmResponseFormat
{
    Text,
    Json,
}

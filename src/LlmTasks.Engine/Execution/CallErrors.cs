using LlmTasks.Providers.Mock;

namespace LlmTasks.Execution;

/// <summary>Names the cause of a failed call: the kind goes to ErrorKind, the message to Error.</summary>
internal static class CallErrors
{
    public static (string Kind, string Message) Classify(Exception e) => e switch
    {
        LlmTasksException known => (known.ErrorId, known.Message),
        MockProviderException => ("ProviderError", e.Message),
        HttpRequestException http => ("ConnectionFailed", $"The connection to the provider failed: {http.Message}"),
        _ => ("ProviderError", $"{e.GetType().Name}: {e.Message}"),
    };
}

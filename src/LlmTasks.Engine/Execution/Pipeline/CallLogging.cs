using LlmTasks.Diagnostics;
using Microsoft.Extensions.AI;

namespace LlmTasks.Execution.Pipeline;

/// <summary>
/// The call's narration through the engine's logging (<see cref="EngineLog"/>): which model it calls and where (never a
/// key). Retries and the call's end are narrated by the retry and by <see cref="ModelPipeline"/>. The same records feed
/// -Verbose/-Debug and, when exporting, OpenTelemetry logs.
/// </summary>
internal sealed class CallLogging(IChatClient inner, CallScope scope) : DelegatingChatClient(inner)
{
    public override Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        Narration.CallStarting(scope, InnerClient);
        return base.GetResponseAsync(messages, options, cancellationToken);
    }

    public override IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        Narration.CallStarting(scope, InnerClient);
        return base.GetStreamingResponseAsync(messages, options, cancellationToken);
    }
}

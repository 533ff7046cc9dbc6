using System.Collections.Concurrent;
using LlmTasks.Diagnostics;
using Microsoft.Extensions.AI;

namespace LlmTasks.Execution.Pipeline;

/// <summary>
/// Microsoft.Extensions.AI's <see cref="OpenTelemetryChatClient"/> for each try: the GenAI semantic conventions' span
/// ("chat {model}", provider, server, usage, finish reason, time to first chunk) and the metrics
/// gen_ai.client.operation.duration and gen_ai.client.token.usage. That client makes an ActivitySource, a Meter and
/// its histograms when it is built, so one is kept per provider, endpoint and model and shared by the calls; each
/// call's own provider client is handed to it through the call's async flow. In the pipeline only while something
/// listens (<see cref="EngineTelemetry.ModelCallsObserved"/>). Message content goes on the spans only with
/// $env:OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT = 'true' (<see cref="TelemetryOptions"/>).
/// </summary>
internal sealed class CallTelemetry(IChatClient inner, CallScope scope) : DelegatingChatClient(inner)
{
    private static readonly AsyncLocal<IChatClient?> Current = new();
    private static readonly ConcurrentDictionary<(string? Provider, string? Host, int Port, string? Model), OpenTelemetryChatClient> Shared = new();

    public override async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        Current.Value = InnerClient;
        return await For(InnerClient, scope).GetResponseAsync(messages, options, cancellationToken).ConfigureAwait(false);
    }

    public override IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
        Streamed(messages, options, cancellationToken);

    private async IAsyncEnumerable<ChatResponseUpdate> Streamed(IEnumerable<ChatMessage> messages, ChatOptions? options,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        Current.Value = InnerClient; // read once, when the shared client asks its inner client for the stream
        await foreach (var update in For(InnerClient, scope).GetStreamingResponseAsync(messages, options, cancellationToken).ConfigureAwait(false))
        {
            yield return update;
        }
    }

    private static OpenTelemetryChatClient For(IChatClient provider, CallScope scope)
    {
        var metadata = provider.GetService<ChatClientMetadata>() ?? new ChatClientMetadata(scope.Model?.Provider, null, scope.Model?.Model);
        var key = (metadata.ProviderName, metadata.ProviderUri?.Host, metadata.ProviderUri?.Port ?? 0, metadata.DefaultModelId);
        return Shared.GetOrAdd(key, _ => new OpenTelemetryChatClient(new Ambient(metadata), logger: null, EngineTelemetry.SourceName)
        {
            EnableSensitiveData = TelemetryExport.Options.CaptureMessageContent,
        });
    }

    /// <summary>The shared client's inner client: the provider client of the call in whose flow it runs.</summary>
    private sealed class Ambient(ChatClientMetadata metadata) : IChatClient
    {
        private static IChatClient Call => Current.Value ?? throw new InvalidOperationException("No model call is in flight in this flow.");

        public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
            Call.GetResponseAsync(messages, options, cancellationToken);

        public IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
            Call.GetStreamingResponseAsync(messages, options, cancellationToken);

        public object? GetService(Type serviceType, object? serviceKey = null) =>
            serviceKey is null && serviceType == typeof(ChatClientMetadata) ? metadata : null;

        public void Dispose()
        {
        }
    }
}

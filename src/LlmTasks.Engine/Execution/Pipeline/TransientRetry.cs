using System.Runtime.CompilerServices;
using LlmTasks.Diagnostics;
using Microsoft.Extensions.AI;

namespace LlmTasks.Execution.Pipeline;

/// <summary>
/// The retry (Polly, <see cref="RetryPipeline"/>: backoff with jitter, the server's Retry-After, a per-try timeout, all
/// on the call's <see cref="TimeProvider"/>). A try that failed transiently is kept as an attempt row of its own before
/// the wait; a call stopped by its own token is never retried. Streams are not resumed mid-answer: a cut-off stream is
/// asked again from the start, as a new try.
/// </summary>
internal sealed class TransientRetry(IChatClient inner, CallScope scope) : DelegatingChatClient(inner)
{
    public override async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var list = messages as IReadOnlyList<ChatMessage> ?? messages.ToList();
        return await RetryPipeline.For(scope.Retry).ExecuteAsync(
            ct => new ValueTask<ChatResponse>(base.GetResponseAsync(list, options, ct)),
            cancellationToken,
            async (_, failure, delay) =>
            {
                Narration.Retrying(scope, failure, delay);
                var row = scope.RetriedTry(failure, delay);
                if (scope.RecordTry is { } record)
                {
                    await record(row).ConfigureAwait(false);
                }
            }).ConfigureAwait(false);
    }

    /// <summary>Retries need the whole answer: a stream through this decorator is the answer, as updates.</summary>
    public override async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var response = await GetResponseAsync(messages, options, cancellationToken).ConfigureAwait(false);
        foreach (var update in response.ToChatResponseUpdates())
        {
            yield return update;
        }
    }
}

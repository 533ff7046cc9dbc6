using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;

namespace LlmTasks.Execution.Pipeline;

/// <summary>
/// Names what went wrong in a try: whatever the provider threw becomes a <see cref="ModelCallException"/> with its
/// classified <see cref="CallFailure"/> (kind, message, transient or not), which the retry decides on and the attempt
/// row keeps. A try whose token was cancelled (Stop, -TimeoutSec, shutdown, the per-try timeout) passes through
/// untouched: the cancellation, not the exception a provider made of it, decides what happened.
/// </summary>
internal sealed class ErrorTranslation(IChatClient inner, CallScope scope) : DelegatingChatClient(inner)
{
    public override async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        try
        {
            return await base.GetResponseAsync(messages, options, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (Translate(e, cancellationToken) is { } translated)
        {
            throw translated;
        }
    }

    public override async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        IAsyncEnumerator<ChatResponseUpdate> updates;
        try
        {
            updates = base.GetStreamingResponseAsync(messages, options, cancellationToken).GetAsyncEnumerator(cancellationToken);
        }
        catch (Exception e) when (Translate(e, cancellationToken) is { } translated)
        {
            throw translated;
        }

        await using (updates.ConfigureAwait(false))
        {
            while (true)
            {
                try
                {
                    if (!await updates.MoveNextAsync().ConfigureAwait(false))
                    {
                        break;
                    }
                }
                catch (Exception e) when (Translate(e, cancellationToken) is { } translated)
                {
                    throw translated;
                }

                yield return updates.Current;
            }
        }
    }

    private ModelCallException? Translate(Exception e, CancellationToken token) =>
        e is ModelCallException || token.IsCancellationRequested ? null : new ModelCallException(CallErrors.Classify(e, scope.Time, token), e);
}

using LlmTasks.Diagnostics;
using LlmTasks.Providers;
using Microsoft.Extensions.AI;

namespace LlmTasks.Execution.Pipeline;

/// <summary>
/// Measures each try (it sits inside the retry): when it began, how long it took, when the first piece of the
/// answer came, the tokens and cost, and its span. Where the provider can stream and the call asks for it, the
/// try streams: each piece goes to the call's <see cref="ICallOutput"/> as it arrives (the task's partial output,
/// -Stream), and a stream that breaks or ends before the answer is complete is a transient failure whose text stays
/// on its attempt row. The answer is as large as the transport lets it be: the HTTP providers cap the bytes read
/// (<see cref="Providers.Http.AnswerLimit"/>), a stream included, and the CLI caps its output.
/// </summary>
internal sealed class AttemptRecorder(IChatClient inner, CallScope scope) : DelegatingChatClient(inner)
{
    public override async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var number = scope.BeginTry();
        using var span = EngineTelemetry.StartAttempt(scope, number);
        StreamedAnswer? streamed = null;
        try
        {
            ChatResponse response;
            if (scope.Streaming && base.GetService(typeof(NonStreamingChatClient)) is null)
            {
                streamed = new StreamedAnswer();
                await foreach (var update in base.GetStreamingResponseAsync(messages, options, cancellationToken).ConfigureAwait(false))
                {
                    if (streamed.Add(update) is { } piece)
                    {
                        if (streamed.Length == piece.Length)
                        {
                            scope.FirstToken();
                        }

                        scope.Output?.Append(piece);
                    }
                }

                if (!streamed.Ended)
                {
                    throw new ModelCallException(new CallFailure(CallErrors.TruncatedStream,
                        $"The provider's stream ended before the answer was complete (no finish reason came, after {streamed.Length} characters).", Transient: true));
                }

                response = streamed.ToResponse();
            }
            else
            {
                response = await base.GetResponseAsync(messages, options, cancellationToken).ConfigureAwait(false);
            }

            scope.EndTry(response, null);
            EngineTelemetry.EndAttempt(span, scope, response, null);
            return response;
        }
        catch (Exception e)
        {
            scope.EndTry(null, streamed?.Text);
            EngineTelemetry.EndAttempt(span, scope, null, e);
            throw;
        }
    }
}

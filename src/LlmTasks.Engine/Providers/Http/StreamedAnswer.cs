using Microsoft.Extensions.AI;

namespace LlmTasks.Providers.Http;

/// <summary>
/// Reads an HTTP provider's streamed answer the same way for every SDK: the call's flow state is set again before each
/// step (the enumerator may resume in another flow), the SDK's errors are translated as a whole answer's are, the text
/// is capped as a whole answer is, and a whole body given for a streaming request is refused.
/// </summary>
internal static class StreamedAnswer
{
    public static async IAsyncEnumerable<ChatResponseUpdate> Read(Func<IAsyncEnumerator<ChatResponseUpdate>> start, HttpExchange exchange,
        string model, long maxAnswerBytes, Action flow, Func<Exception, Exception?> translate)
    {
        flow();
        IAsyncEnumerator<ChatResponseUpdate> updates;
        try
        {
            updates = start();
        }
        catch (Exception e) when (translate(e) is { } translated)
        {
            throw translated;
        }

        var text = new StreamedText(maxAnswerBytes);
        await using (updates.ConfigureAwait(false))
        {
            while (true)
            {
                try
                {
                    flow();
                    if (!await updates.MoveNextAsync().ConfigureAwait(false))
                    {
                        break;
                    }
                }
                catch (Exception e) when (translate(e) is { } translated)
                {
                    throw translated;
                }

                if (exchange.Succeeded && !exchange.IsEventStream)
                {
                    throw NotAStream(model, exchange);
                }

                text.Add(updates.Current.Text);
                yield return updates.Current;
            }
        }

        if (exchange.Succeeded && !exchange.IsEventStream)
        {
            throw NotAStream(model, exchange);
        }
    }

    /// <summary>A streaming request answered with a whole body (a server that cannot stream, a proxy page): not an answer this call can read.</summary>
    private static ProviderAnswerException NotAStream(string model, HttpExchange exchange) => new(model, exchange.Status!.Value,
        new InvalidDataException($"the answer to a streaming request is {exchange.MediaType ?? "a body without a Content-Type"}, not text/event-stream; for a server that cannot stream, set $env:LLMTASKS_STREAMING = 0"));
}

using System.ClientModel;
using System.Text.Json;
using LlmTasks.Providers.Http;
using Microsoft.Extensions.AI;

namespace LlmTasks.Providers.OpenAICompatible;

/// <summary>
/// Turns the OpenAI SDK's HTTP errors (<see cref="ClientResultException"/> with a status) into
/// <see cref="ProviderHttpException"/>: status, the body's error message and code, and the retry headers.
/// Failures without a response (refused, reset) pass through unchanged.
/// </summary>
internal sealed class OpenAIErrorTranslation(IChatClient inner, string model, long maxAnswerBytes) : DelegatingChatClient(inner)
{
    public override async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var exchange = new HttpExchange();
        AnswerLimit.Current.Value = exchange;
        try
        {
            return await base.GetResponseAsync(messages, options, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (Translate(e, exchange) is { } translated)
        {
            throw translated;
        }
    }

    /// <summary>The answer as server-sent events (with usage: the SDK asks for it), errors translated as for whole answers.</summary>
    public override async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var exchange = new HttpExchange();
        var updates = StreamedAnswer.Read(
            () => base.GetStreamingResponseAsync(messages, options, cancellationToken).GetAsyncEnumerator(cancellationToken),
            exchange, model, maxAnswerBytes,
            flow: () => AnswerLimit.Current.Value = exchange,
            translate: e => Translate(e, exchange));
        await foreach (var update in updates.WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            yield return update;
        }
    }

    private Exception? Translate(Exception e, HttpExchange exchange)
    {
        if (e is ClientResultException { Status: not 0 } result && result.GetRawResponse() is { } raw)
        {
            raw.Headers.TryGetValue("retry-after-ms", out var retryAfterMs);
            raw.Headers.TryGetValue("Retry-After", out var retryAfter);
            var (type, message) = ReadError(raw.Content?.ToString());
            return new ProviderHttpException(model, result.Status, type, message ?? raw.ReasonPhrase, retryAfterMs, retryAfter, e);
        }

        return exchange.Succeeded && ProviderAnswerException.IsReadFailure(e) ? new ProviderAnswerException(model, exchange.Status!.Value, e) : null;
    }

    /// <summary>The inner SDK client is shared between calls (see the providers): a call's wrapper does not dispose it.</summary>
    protected override void Dispose(bool disposing)
    {
    }

    /// <summary>The OpenAI error body: {"error":{"message":…,"type":…,"code":…}}; other bodies are kept as text (shortened).</summary>
    internal static (string? Type, string? Message) ReadError(string? body)
    {
        if (string.IsNullOrWhiteSpace(body))
        {
            return (null, null);
        }

        try
        {
            using var document = JsonDocument.Parse(body);
            if (document.RootElement.ValueKind == JsonValueKind.Object && document.RootElement.TryGetProperty("error", out var error))
            {
                if (error.ValueKind == JsonValueKind.String)
                {
                    return (null, error.GetString());
                }

                if (error.ValueKind == JsonValueKind.Object)
                {
                    string? Text(string name) => error.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
                    return (Text("code") ?? Text("type"), Text("message"));
                }
            }
        }
        catch (JsonException)
        {
        }

        var text = body.Trim();
        return (null, text.Length > 400 ? text[..400] + "…" : text);
    }
}

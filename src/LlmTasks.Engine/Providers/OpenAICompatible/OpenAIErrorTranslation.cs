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
internal sealed class OpenAIErrorTranslation(IChatClient inner, string model) : DelegatingChatClient(inner)
{
    public override async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var exchange = new HttpExchange();
        AnswerLimit.Current.Value = exchange;
        try
        {
            return await base.GetResponseAsync(messages, options, cancellationToken).ConfigureAwait(false);
        }
        catch (ClientResultException e) when (e.Status != 0 && e.GetRawResponse() is { } raw)
        {
            raw.Headers.TryGetValue("retry-after-ms", out var retryAfterMs);
            raw.Headers.TryGetValue("Retry-After", out var retryAfter);
            var (type, message) = ReadError(raw.Content?.ToString());
            throw new ProviderHttpException(model, e.Status, type, message ?? raw.ReasonPhrase, retryAfterMs, retryAfter, e);
        }
        catch (Exception e) when (exchange.Succeeded && ProviderAnswerException.IsReadFailure(e))
        {
            throw new ProviderAnswerException(model, exchange.Status!.Value, e);
        }
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

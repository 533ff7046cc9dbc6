using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Anthropic.Exceptions;
using Anthropic.Models.Messages;
using LlmTasks.Providers.Http;
using Microsoft.Extensions.AI;

namespace LlmTasks.Providers.Anthropic;

/// <summary>
/// What the Anthropic SDK's IChatClient (13.x) leaves out: it drops ChatOptions.Temperature, so the
/// temperature goes through the raw request body; and its errors carry no headers, so they are
/// turned into <see cref="ProviderHttpException"/> with the captured retry headers.
/// </summary>
internal sealed class AnthropicAdapter(IChatClient inner, ModelId model, long maxAnswerBytes) : DelegatingChatClient(inner)
{
    public override async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var box = new StrongBox<HttpResponseHeaders?>();
        ResponseHeaderCapture.Current.Value = box;
        var exchange = new HttpExchange();
        AnswerLimit.Current.Value = exchange;
        try
        {
            return await base.GetResponseAsync(messages, WithTemperature(options), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (Translate(e, exchange, box) is { } translated)
        {
            throw translated;
        }
    }

    /// <summary>The answer as the Messages API's server-sent events, with the same temperature and error handling as a whole answer.</summary>
    public override async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var box = new StrongBox<HttpResponseHeaders?>();
        var exchange = new HttpExchange();
        var updates = StreamedAnswer.Read(
            () => base.GetStreamingResponseAsync(messages, WithTemperature(options), cancellationToken).GetAsyncEnumerator(cancellationToken),
            exchange, model.ToString(), maxAnswerBytes,
            flow: () =>
            {
                ResponseHeaderCapture.Current.Value = box;
                AnswerLimit.Current.Value = exchange;
            },
            translate: e => Translate(e, exchange, box));
        await foreach (var update in updates.WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            yield return update;
        }
    }

    private Exception? Translate(Exception e, HttpExchange exchange, StrongBox<HttpResponseHeaders?> box)
    {
        if (e is AnthropicApiException api && !exchange.Succeeded)
        {
            string? Header(string name) => box.Value is { } h && h.TryGetValues(name, out var values) ? values.FirstOrDefault() : null;
            return new ProviderHttpException(model.ToString(), (int)api.StatusCode, ErrorType(api), ApiMessage(api), Header("retry-after-ms"), Header("retry-after"), e);
        }

        return exchange.Succeeded && ProviderAnswerException.IsReadFailure(e) ? new ProviderAnswerException(model.ToString(), exchange.Status!.Value, e) : null;
    }

    /// <summary>Sends temperature in the raw body (model, max_tokens and messages are required there; the chat messages replace the empty list).</summary>
    internal static ChatOptions? WithTemperature(ChatOptions? options)
    {
        if (options?.Temperature is not { } temperature || options.RawRepresentationFactory is not null)
        {
            return options;
        }

        var copy = options.Clone();
        var maxTokens = options.MaxOutputTokens ?? AnthropicProvider.DefaultMaxTokens;
        var modelId = options.ModelId;
        var empty = new Dictionary<string, JsonElement>();
        copy.RawRepresentationFactory = _ => MessageCreateParams.FromRawUnchecked(empty, empty, new Dictionary<string, JsonElement>
        {
            ["model"] = JsonSerializer.SerializeToElement(modelId),
            ["max_tokens"] = JsonSerializer.SerializeToElement(maxTokens),
            ["messages"] = JsonSerializer.SerializeToElement(Array.Empty<object>()),
            ["temperature"] = JsonSerializer.SerializeToElement(temperature),
        });
        return copy;
    }

    /// <summary>error.details.error_code, else error.type of the body {"type":"error","error":{"type":…,"message":…}}.</summary>
    private static string? ErrorType(AnthropicApiException e) => e is AnthropicServiceException s
        ? s.ErrorCode?.ToString() ?? Raw(s.Type?.ToString())
        : e is AnthropicOverloadedException ? "overloaded_error" : null;

    /// <summary>The API's own error message, else the SDK's.</summary>
    private static string ApiMessage(AnthropicApiException e) => (e as AnthropicServiceException)?.ApiMessage ?? e.Message;

    private static string? Raw(string? text) => string.IsNullOrWhiteSpace(text) ? null : text;
}

using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using Anthropic;
using Anthropic.Core;
using Anthropic.Exceptions;
using Anthropic.Models.Messages.Batches;
using LlmTasks.Batches;
using LlmTasks.Providers.Http;

namespace LlmTasks.Providers.Anthropic;

/// <summary>
/// Anthropic's Message Batches through the official SDK (<c>client.Messages.Batches</c>): create with one Messages
/// request per task (custom_id, params), retrieve by the stored batch id (in_progress, canceling, ended), the results
/// JSONL streamed by the SDK once it ended (succeeded, errored, canceled, expired, by custom_id), and cancel. The SDK's
/// models are read through their raw JSON, so a field the SDK version does not model is still read.
/// </summary>
internal sealed class AnthropicBatchProvider(ProviderEnvironment environment) : IBatchProvider
{
    public BatchLimits Limits => BatchLimits.Anthropic;

    private global::Anthropic.Services.Messages.IBatchService Batches(BatchContext context)
    {
        var call = context.Call;
        var baseUrl = environment.BaseUrl(call, "anthropic", AnthropicProvider.DefaultBaseUrl, AnthropicProvider.BaseUrlVariable);
        var key = environment.RequireKey(call, AnthropicProvider.KeyVariable, "anthropic");
        return new AnthropicClient(new ClientOptions
        {
            ApiKey = key,
            BaseUrl = baseUrl.ToString().TrimEnd('/'),
            MaxRetries = 0, // the batch poll has its own backoff
            Timeout = HttpDefaults.NetworkTimeout,
        }).Messages.Batches;
    }

    public async Task<BatchStatus> SubmitAsync(BatchContext context, IReadOnlyList<BatchRequest> requests, CancellationToken cancellationToken)
    {
        var list = new JsonArray();
        foreach (var request in requests)
        {
            list.Add(new JsonObject { ["custom_id"] = request.CustomId, ["params"] = Params(context.Model.Model, request.Request) });
        }

        var empty = new Dictionary<string, JsonElement>();
        var create = BatchCreateParams.FromRawUnchecked(empty, empty, new Dictionary<string, JsonElement> { ["requests"] = JsonSerializer.SerializeToElement(list) });
        var batch = await Translated(context, () => Batches(context).Create(create, cancellationToken)).ConfigureAwait(false);
        return Read(batch.RawData);
    }

    public async Task<BatchStatus> GetAsync(BatchContext context, string batchId, CancellationToken cancellationToken)
    {
        var batch = await Translated(context, () => Batches(context).Retrieve(batchId, null, cancellationToken)).ConfigureAwait(false);
        return Read(batch.RawData);
    }

    public async Task<BatchStatus> CancelAsync(BatchContext context, string batchId, CancellationToken cancellationToken)
    {
        var batch = await Translated(context, () => Batches(context).Cancel(batchId, null, cancellationToken)).ConfigureAwait(false);
        return Read(batch.RawData);
    }

    public async IAsyncEnumerable<BatchResult> ResultsAsync(BatchContext context, BatchStatus status, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var results = Batches(context).ResultsStreaming(status.BatchId, null, cancellationToken).GetAsyncEnumerator(cancellationToken);
        try
        {
            while (await Translated(context, async () => await results.MoveNextAsync().ConfigureAwait(false)).ConfigureAwait(false))
            {
                if (ReadResult(results.Current.RawData) is { } result)
                {
                    yield return result;
                }
            }
        }
        finally
        {
            await results.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>The Messages request of one task: what a live call sends (system prompts as system, the rest as turns).</summary>
    internal static JsonObject Params(string model, LlmTaskRequest request)
    {
        var messages = new JsonArray();
        foreach (var message in request.Messages.Where(m => m.Role != LlmRole.System))
        {
            messages.Add(new JsonObject { ["role"] = message.Role == LlmRole.Assistant ? "assistant" : "user", ["content"] = message.Content });
        }

        var body = new JsonObject
        {
            ["model"] = model,
            ["max_tokens"] = request.MaxTokens ?? AnthropicProvider.DefaultMaxTokens,
            ["messages"] = messages,
        };
        var system = string.Join("\n\n", request.Messages.Where(m => m.Role == LlmRole.System).Select(m => m.Content));
        if (system.Length > 0)
        {
            body["system"] = system;
        }

        if (request.Temperature is { } temperature)
        {
            body["temperature"] = temperature;
        }

        if (request.StopSequences is { Count: > 0 } stops)
        {
            body["stop_sequences"] = new JsonArray([.. stops.Select(s => (JsonNode?)s)]);
        }

        return body;
    }

    /// <summary>A message batch object as a status: in_progress, canceling, ended (cancelled when a cancel was asked for, expired when requests expired).</summary>
    internal static BatchStatus Read(IReadOnlyDictionary<string, JsonElement> raw)
    {
        string? Text(string name) => raw.TryGetValue(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
        var counts = raw.TryGetValue("request_counts", out var c) && c.ValueKind == JsonValueKind.Object ? c : default;
        int Count(string name) => counts.ValueKind == JsonValueKind.Object && counts.TryGetProperty(name, out var n) && n.ValueKind == JsonValueKind.Number ? n.GetInt32() : 0;
        var word = Text("processing_status") ?? "unknown";
        var state = word switch
        {
            "in_progress" => LlmBatchState.InProgress,
            "canceling" => LlmBatchState.Cancelling,
            "ended" when Text("cancel_initiated_at") is not null => LlmBatchState.Cancelled,
            "ended" when Count("expired") > 0 => LlmBatchState.Expired,
            "ended" => LlmBatchState.Completed,
            _ => LlmBatchState.InProgress,
        };
        return new BatchStatus
        {
            BatchId = Text("id") ?? throw new JsonException("The message batch has no id."),
            State = state,
            ProviderStatus = word,
            Total = Count("processing") + Count("succeeded") + Count("errored") + Count("canceled") + Count("expired"),
            Completed = Count("succeeded"),
            Failed = Count("errored") + Count("canceled") + Count("expired"),
            ExpiresAt = Text("expires_at") is { } expires && DateTimeOffset.TryParse(expires, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal, out var at) ? at : null,
            DetailsJson = new JsonObject { ["results_url"] = Text("results_url") }.ToJsonString(),
        };
    }

    /// <summary>One line of the results: {"custom_id", "result": {"type": succeeded | errored | canceled | expired, …}}.</summary>
    internal static BatchResult? ReadResult(IReadOnlyDictionary<string, JsonElement> raw)
    {
        if (!raw.TryGetValue("custom_id", out var id) || id.GetString() is not { } customId || !raw.TryGetValue("result", out var result))
        {
            return null;
        }

        var type = result.TryGetProperty("type", out var t) ? t.GetString() : null;
        switch (type)
        {
            case "succeeded":
                var message = result.GetProperty("message");
                var text = string.Concat(message.GetProperty("content").EnumerateArray()
                    .Where(b => b.TryGetProperty("type", out var bt) && bt.GetString() == "text")
                    .Select(b => b.GetProperty("text").GetString()));
                var usage = message.TryGetProperty("usage", out var u) ? u : default;
                long? Tokens(string name) => usage.ValueKind == JsonValueKind.Object && usage.TryGetProperty(name, out var n) && n.ValueKind == JsonValueKind.Number ? n.GetInt64() : null;
                return new BatchResult
                {
                    CustomId = customId,
                    Succeeded = true,
                    Output = text,
                    InputTokens = Tokens("input_tokens"),
                    OutputTokens = Tokens("output_tokens"),
                    DetailsJson = new JsonObject
                    {
                        ["messageId"] = message.TryGetProperty("id", out var mid) ? mid.GetString() : null,
                        ["stopReason"] = message.TryGetProperty("stop_reason", out var stop) && stop.ValueKind == JsonValueKind.String ? stop.GetString() : null,
                    }.ToJsonString(),
                };
            case "errored":
                var error = result.TryGetProperty("error", out var e) && e.TryGetProperty("error", out var inner) ? inner : e;
                var errorType = error.ValueKind == JsonValueKind.Object && error.TryGetProperty("type", out var et) ? et.GetString() : null;
                var said = error.ValueKind == JsonValueKind.Object && error.TryGetProperty("message", out var em) ? em.GetString() : null;
                return new BatchResult
                {
                    CustomId = customId,
                    Error = $"{errorType ?? "error"}: {said ?? "the provider gave no reason"}",
                    ErrorKind = errorType switch
                    {
                        "invalid_request_error" => "InvalidRequest",
                        "authentication_error" => "AuthenticationFailed",
                        "permission_error" => "PermissionDenied",
                        "not_found_error" => "NotFound",
                        "rate_limit_error" => "RateLimited",
                        "overloaded_error" => "Overloaded",
                        "api_error" => "ServerError",
                        _ => "ProviderError",
                    },
                };
            case "canceled":
                return new BatchResult { CustomId = customId, Error = "The batch was cancelled before this request was answered.", ErrorKind = "Cancelled" };
            case "expired":
                return new BatchResult { CustomId = customId, Error = "The batch expired at the provider before this request was answered; Restart-LlmTask sends it again (in a new batch).", ErrorKind = "BatchExpired" };
            default:
                return null;
        }
    }

    /// <summary>The SDK's HTTP errors as the engine classifies them.</summary>
    private static async Task<T> Translated<T>(BatchContext context, Func<Task<T>> call)
    {
        try
        {
            return await call().ConfigureAwait(false);
        }
        catch (AnthropicApiException e)
        {
            var type = e is AnthropicServiceException s ? s.ErrorCode?.ToString() ?? s.Type?.ToString() : null;
            var message = (e as AnthropicServiceException)?.ApiMessage ?? e.Message;
            throw new ProviderHttpException(context.Model.ToString(), (int)e.StatusCode, string.IsNullOrWhiteSpace(type) ? null : type, message, null, null, e);
        }
    }
}

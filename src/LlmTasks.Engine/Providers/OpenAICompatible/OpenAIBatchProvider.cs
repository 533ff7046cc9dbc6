using System.ClientModel;
using System.ClientModel.Primitives;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using LlmTasks.Batches;
using LlmTasks.Providers.Http;
using OpenAI;
using OpenAI.Batch;
using OpenAI.Files;

// BatchClient and CreateBatchOperation are marked for evaluation (OPENAI001) in the SDK; they are its Batch API.
#pragma warning disable OPENAI001

namespace LlmTasks.Providers.OpenAICompatible;

/// <summary>
/// OpenAI's Batch API through the official SDK: the requests as a JSONL file uploaded with <see cref="OpenAIFileClient"/>
/// (purpose batch), a batch over it made, looked at and cancelled with <see cref="BatchClient"/> (a
/// <see cref="CreateBatchOperation"/> rehydrated from the stored batch id, so any process can go on with it), and the
/// output and error files downloaded when it ends. Each line is a Chat Completions request (/v1/chat/completions)
/// with the task's messages and options; results come back by custom_id, in any order.
/// </summary>
internal sealed class OpenAIBatchProvider(OpenAICompatibleEndpoint endpoint, ProviderEnvironment environment) : IBatchProvider
{
    private const string ChatPath = "/v1/chat/completions";

    public BatchLimits Limits => BatchLimits.OpenAI;

    private (OpenAIFileClient Files, BatchClient Batches) Clients(BatchContext context)
    {
        var call = context.Call;
        var baseUrl = environment.BaseUrl(call, endpoint.Name, endpoint.DefaultBaseUrl, endpoint.BaseUrlVariable);
        var key = environment.RequireKey(call, endpoint.KeyVariable, endpoint.Name);
        var options = new OpenAIClientOptions
        {
            Endpoint = baseUrl,
            RetryPolicy = new ClientRetryPolicy(maxRetries: 0), // the batch poll has its own backoff
            NetworkTimeout = HttpDefaults.NetworkTimeout,
        };
        var batchOptions = new BatchClientOptions
        {
            Endpoint = baseUrl,
            RetryPolicy = new ClientRetryPolicy(maxRetries: 0),
            NetworkTimeout = HttpDefaults.NetworkTimeout,
        };
        var credential = new ApiKeyCredential(key);
        return (new OpenAIFileClient(credential, options), new BatchClient(credential, batchOptions));
    }

    public async Task<BatchStatus> SubmitAsync(BatchContext context, IReadOnlyList<BatchRequest> requests, CancellationToken cancellationToken)
    {
        var (files, batches) = Clients(context);
        var lines = new StringBuilder();
        foreach (var request in requests)
        {
            lines.Append(new JsonObject
            {
                ["custom_id"] = request.CustomId,
                ["method"] = "POST",
                ["url"] = ChatPath,
                ["body"] = Body(context.Model.Model, request.Request),
            }.ToJsonString()).Append('\n');
        }

        var model = context.Model.ToString();
        var file = await Translated(model, () => files.UploadFileAsync(BinaryData.FromString(lines.ToString()), "llmtasks-batch.jsonl", FileUploadPurpose.Batch)).ConfigureAwait(false);
        var create = BinaryContent.Create(BinaryData.FromString(new JsonObject
        {
            ["input_file_id"] = file.Value.Id,
            ["endpoint"] = ChatPath,
            ["completion_window"] = "24h",
            ["metadata"] = new JsonObject { ["source"] = "LlmTasks" },
        }.ToJsonString()));
        var operation = await Translated(model, () => batches.CreateBatchAsync(create, waitUntilCompleted: false, new RequestOptions { CancellationToken = cancellationToken })).ConfigureAwait(false);
        return Read(operation.GetRawResponse().Content);
    }

    public async Task<BatchStatus> GetAsync(BatchContext context, string batchId, CancellationToken cancellationToken)
    {
        var (_, batches) = Clients(context);
        var operation = await Translated(context.Model.ToString(), () => CreateBatchOperation.RehydrateAsync(batches, batchId, cancellationToken)).ConfigureAwait(false);
        return Read(operation.GetRawResponse().Content);
    }

    public async Task<BatchStatus> CancelAsync(BatchContext context, string batchId, CancellationToken cancellationToken)
    {
        var (_, batches) = Clients(context);
        var model = context.Model.ToString();
        var operation = await Translated(model, () => CreateBatchOperation.RehydrateAsync(batches, batchId, cancellationToken)).ConfigureAwait(false);
        var cancelled = await Translated(model, () => operation.CancelAsync(new RequestOptions { CancellationToken = cancellationToken })).ConfigureAwait(false);
        return Read(cancelled.GetRawResponse().Content);
    }

    public async IAsyncEnumerable<BatchResult> ResultsAsync(BatchContext context, BatchStatus status, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var (files, _) = Clients(context);
        var details = status.DetailsJson is { } json ? JsonNode.Parse(json) as JsonObject : null;
        foreach (var name in new[] { "output_file_id", "error_file_id" })
        {
            if (details?[name]?.GetValue<string>() is not { Length: > 0 } fileId)
            {
                continue;
            }

            var content = await Translated(context.Model.ToString(), () => files.DownloadFileAsync(fileId, cancellationToken)).ConfigureAwait(false);
            foreach (var line in content.Value.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (ReadResult(line) is { } result)
                {
                    yield return result;
                }
            }
        }
    }

    /// <summary>The Chat Completions body of one request: what a live call of the task sends.</summary>
    internal static JsonObject Body(string model, LlmTaskRequest request)
    {
        var messages = new JsonArray();
        foreach (var message in request.Messages)
        {
            messages.Add(new JsonObject { ["role"] = message.Role.ToString().ToLowerInvariant(), ["content"] = message.Content });
        }

        var body = new JsonObject { ["model"] = model, ["messages"] = messages };
        if (request.Temperature is { } temperature)
        {
            body["temperature"] = temperature;
        }

        if (request.MaxTokens is { } max)
        {
            body["max_completion_tokens"] = max;
        }

        if (request.StopSequences is { Count: > 0 } stops)
        {
            body["stop"] = new JsonArray([.. stops.Select(s => (JsonNode?)s)]);
        }

        if (request.JsonSchema is { } schema)
        {
            body["response_format"] = new JsonObject
            {
                ["type"] = "json_schema",
                ["json_schema"] = new JsonObject { ["name"] = "answer", ["schema"] = JsonNode.Parse(schema), ["strict"] = false },
            };
        }
        else if (request.WantsJson)
        {
            body["response_format"] = new JsonObject { ["type"] = "json_object" };
        }

        return body;
    }

    /// <summary>A batch object (/v1/batches/{id}) as a status.</summary>
    internal static BatchStatus Read(BinaryData content)
    {
        using var document = JsonDocument.Parse(content);
        var root = document.RootElement;
        var word = root.TryGetProperty("status", out var s) ? s.GetString() ?? "unknown" : "unknown";
        var counts = root.TryGetProperty("request_counts", out var c) && c.ValueKind == JsonValueKind.Object ? c : default;
        int Count(string name) => counts.ValueKind == JsonValueKind.Object && counts.TryGetProperty(name, out var n) && n.ValueKind == JsonValueKind.Number ? n.GetInt32() : 0;
        string? Text(string name) => root.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
        string? error = null;
        if (root.TryGetProperty("errors", out var errors) && errors.ValueKind == JsonValueKind.Object && errors.TryGetProperty("data", out var data) && data.ValueKind == JsonValueKind.Array)
        {
            error = string.Join("; ", data.EnumerateArray().Select(e => $"{(e.TryGetProperty("code", out var code) ? code.GetString() : null)}: {(e.TryGetProperty("message", out var m) ? m.GetString() : null)}"));
        }

        return new BatchStatus
        {
            BatchId = Text("id") ?? throw new JsonException("The batch object has no id."),
            State = word switch
            {
                "validating" => LlmBatchState.Validating,
                "in_progress" => LlmBatchState.InProgress,
                "finalizing" => LlmBatchState.Finalizing,
                "completed" => LlmBatchState.Completed,
                "failed" => LlmBatchState.Failed,
                "expired" => LlmBatchState.Expired,
                "cancelling" => LlmBatchState.Cancelling,
                "cancelled" => LlmBatchState.Cancelled,
                _ => LlmBatchState.InProgress,
            },
            ProviderStatus = word,
            Total = Count("total"),
            Completed = Count("completed"),
            Failed = Count("failed"),
            ExpiresAt = root.TryGetProperty("expires_at", out var expires) && expires.ValueKind == JsonValueKind.Number ? DateTimeOffset.FromUnixTimeSeconds(expires.GetInt64()) : null,
            Error = error,
            DetailsJson = new JsonObject { ["output_file_id"] = Text("output_file_id"), ["error_file_id"] = Text("error_file_id"), ["input_file_id"] = Text("input_file_id") }.ToJsonString(),
        };
    }

    /// <summary>One line of an output or error file: {"custom_id", "response": {"status_code", "body"}, "error"}.</summary>
    internal static BatchResult? ReadResult(string line)
    {
        using var document = JsonDocument.Parse(line);
        var root = document.RootElement;
        if (!root.TryGetProperty("custom_id", out var id) || id.GetString() is not { } customId)
        {
            return null;
        }

        var response = root.TryGetProperty("response", out var r) && r.ValueKind == JsonValueKind.Object ? r : default;
        var status = response.ValueKind == JsonValueKind.Object && response.TryGetProperty("status_code", out var code) && code.ValueKind == JsonValueKind.Number ? code.GetInt32() : 0;
        var body = response.ValueKind == JsonValueKind.Object && response.TryGetProperty("body", out var b) ? b : default;
        var details = new JsonObject { ["status"] = status };
        if (response.ValueKind == JsonValueKind.Object && response.TryGetProperty("request_id", out var requestId) && requestId.ValueKind == JsonValueKind.String)
        {
            details["requestId"] = requestId.GetString();
        }

        if (status == 200 && body.ValueKind == JsonValueKind.Object && body.TryGetProperty("choices", out var choices) && choices.GetArrayLength() > 0)
        {
            var message = choices[0].GetProperty("message");
            var usage = body.TryGetProperty("usage", out var u) ? u : default;
            long? Tokens(string name) => usage.ValueKind == JsonValueKind.Object && usage.TryGetProperty(name, out var t) && t.ValueKind == JsonValueKind.Number ? t.GetInt64() : null;
            if (body.TryGetProperty("id", out var responseId))
            {
                details["responseId"] = responseId.GetString();
            }

            return new BatchResult
            {
                CustomId = customId,
                Succeeded = true,
                Output = message.TryGetProperty("content", out var content) && content.ValueKind == JsonValueKind.String ? content.GetString() : string.Empty,
                InputTokens = Tokens("prompt_tokens"),
                OutputTokens = Tokens("completion_tokens"),
                DetailsJson = details.ToJsonString(),
            };
        }

        // An error: the response's error body, or the line's own error object.
        var (type, said) = body.ValueKind == JsonValueKind.Object ? OpenAIErrorTranslation.ReadError(body.GetRawText()) : (null, null);
        if (said is null && root.TryGetProperty("error", out var error) && error.ValueKind == JsonValueKind.Object)
        {
            type = error.TryGetProperty("code", out var c) ? c.GetString() : null;
            said = error.TryGetProperty("message", out var m) ? m.GetString() : null;
        }

        return new BatchResult
        {
            CustomId = customId,
            Error = $"HTTP {status}{(type is null ? string.Empty : $" ({type})")}: {said ?? "the provider gave no reason"}",
            ErrorKind = status switch
            {
                429 => "RateLimited",
                401 => "AuthenticationFailed",
                403 => "PermissionDenied",
                404 => "NotFound",
                >= 500 => "ServerError",
                0 => "ProviderError",
                _ => "InvalidRequest",
            },
            DetailsJson = details.ToJsonString(),
        };
    }

    /// <summary>The SDK's HTTP errors as the engine classifies them (status, the provider's message, retry headers).</summary>
    private static async Task<T> Translated<T>(string model, Func<Task<T>> call)
    {
        try
        {
            return await call().ConfigureAwait(false);
        }
        catch (ClientResultException e) when (e.Status != 0 && e.GetRawResponse() is { } raw)
        {
            raw.Headers.TryGetValue("Retry-After", out var retryAfter);
            var (type, message) = OpenAIErrorTranslation.ReadError(raw.Content?.ToString());
            throw new ProviderHttpException(model, e.Status, type, message ?? raw.ReasonPhrase, null, retryAfter, e);
        }
    }
}

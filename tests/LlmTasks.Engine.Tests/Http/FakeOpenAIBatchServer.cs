using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace LlmTasks.Tests.Http;

/// <summary>
/// OpenAI's Files and Batch API on a loopback server, as the real one speaks them: POST /v1/files (multipart, purpose
/// batch), POST /v1/batches, GET /v1/batches/{id} (validating → in_progress → finalizing → completed, one step per
/// look; or expired, failed), POST /v1/batches/{id}/cancel (cancelling → cancelled), GET /v1/files/{id}/content
/// (the output and error files: JSONL, in an order of their own). Each request line is answered by <see cref="Answer"/>.
/// </summary>
public sealed class FakeOpenAIBatchServer : IDisposable
{
    private readonly object _lock = new();
    private readonly Dictionary<string, (string Purpose, string Content)> _files = [];
    private readonly Dictionary<string, JsonObject> _batches = [];
    private int _next;

    public FakeOpenAIBatchServer() => Server.Script(Reply.From(Handle));

    public LoopbackServer Server { get; } = new();

    /// <summary>The base URL tasks use: the server's /v1.</summary>
    public string ApiBase => Server.Url + "/v1";

    /// <summary>What a request line's body gets: status and response body (default: a chat completion echoing the last message).</summary>
    public Func<JsonElement, (int Status, string Body)> Answer { get; set; } = Echo;

    /// <summary>How a batch ends once it has been looked at through in_progress and finalizing: completed (default), expired or failed.</summary>
    public string Ending { get; set; } = "completed";

    /// <summary>For an expired batch: how many of its requests were answered before it expired.</summary>
    public int AnsweredBeforeExpiry { get; set; }

    /// <summary>Until set, batches stay in_progress whatever is looked at (a batch that takes long).</summary>
    public volatile bool Proceed = true;

    public IReadOnlyDictionary<string, (string Purpose, string Content)> Files { get { lock (_lock) { return new Dictionary<string, (string, string)>(_files); } } }

    public IReadOnlyList<JsonObject> Batches { get { lock (_lock) { return _batches.Values.Select(b => (JsonObject)b.DeepClone()).ToList(); } } }

    /// <summary>The statuses the batches were seen in, in order, as GET /v1/batches/{id} answered them.</summary>
    public List<string> Seen { get; } = [];

    public static (int, string) Echo(JsonElement body)
    {
        var text = "echo: " + body.GetProperty("messages").EnumerateArray().Last().GetProperty("content").GetString();
        return (200, $$$"""
            {"id":"chatcmpl-{{{Guid.NewGuid():N}}}","object":"chat.completion","created":1,"model":"gpt-4o-mini",
             "choices":[{"index":0,"message":{"role":"assistant","content":{{{JsonSerializer.Serialize(text)}}}},"finish_reason":"stop"}],
             "usage":{"prompt_tokens":1000,"completion_tokens":500,"total_tokens":1500}}
            """);
    }

    private Reply Handle(RecordedRequest request)
    {
        lock (_lock)
        {
            var path = request.Target.Split('?')[0];
            var parts = path.Trim('/').Split('/');
            return (request.Method, parts) switch
            {
                ("POST", ["v1", "files"]) => Upload(request),
                ("POST", ["v1", "batches"]) => Create(request.Json),
                ("GET", ["v1", "batches", var id]) => Look(id),
                ("POST", ["v1", "batches", var id, "cancel"]) => Cancel(id),
                ("GET", ["v1", "files", var id, "content"]) when _files.TryGetValue(id, out var file) => Reply.Raw(200, Encoding.UTF8.GetBytes(file.Content)),
                _ => Reply.Json(404, """{"error":{"message":"no such route","type":"invalid_request_error"}}"""),
            };
        }
    }

    private Reply Upload(RecordedRequest request)
    {
        var boundary = request.Header("Content-Type")!.Split("boundary=")[1].Trim('"');
        string? purpose = null, content = null, filename = null;
        foreach (var part in request.Body.Split("--" + boundary))
        {
            var split = part.IndexOf("\r\n\r\n", StringComparison.Ordinal);
            if (split < 0)
            {
                continue;
            }

            var headers = part[..split];
            var value = part[(split + 4)..];
            value = value.EndsWith("\r\n", StringComparison.Ordinal) ? value[..^2] : value;
            if (headers.Contains("name=purpose", StringComparison.Ordinal) || headers.Contains("name=\"purpose\"", StringComparison.Ordinal))
            {
                purpose = value;
            }
            else if (headers.Contains("name=file", StringComparison.Ordinal) || headers.Contains("name=\"file\"", StringComparison.Ordinal))
            {
                content = value;
                filename = headers.Split("filename=")[1].Split(';', '\r')[0].Trim('"');
            }
        }

        var id = $"file-{++_next}";
        _files[id] = (purpose ?? "?", content ?? string.Empty);
        return Reply.Json(200, new JsonObject
        {
            ["id"] = id, ["object"] = "file", ["bytes"] = Encoding.UTF8.GetByteCount(content ?? string.Empty), ["created_at"] = 1_700_000_000,
            ["filename"] = filename, ["purpose"] = purpose, ["status"] = "processed",
        }.ToJsonString());
    }

    private Reply Create(JsonElement body)
    {
        var input = body.GetProperty("input_file_id").GetString()!;
        if (!_files.ContainsKey(input))
        {
            return Reply.Json(400, """{"error":{"message":"no such file","type":"invalid_request_error"}}""");
        }

        var id = $"batch_{++_next}";
        var lines = _files[input].Content.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length;
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        _batches[id] = new JsonObject
        {
            ["id"] = id, ["object"] = "batch", ["endpoint"] = body.GetProperty("endpoint").GetString(), ["errors"] = null,
            ["input_file_id"] = input, ["completion_window"] = body.GetProperty("completion_window").GetString(), ["status"] = "validating",
            ["output_file_id"] = null, ["error_file_id"] = null, ["created_at"] = now, ["expires_at"] = now + 86400,
            ["request_counts"] = new JsonObject { ["total"] = lines, ["completed"] = 0, ["failed"] = 0 },
            ["metadata"] = body.TryGetProperty("metadata", out var metadata) ? JsonNode.Parse(metadata.GetRawText()) : null,
        };
        return Reply.Json(200, _batches[id].ToJsonString());
    }

    private Reply Look(string id)
    {
        if (!_batches.TryGetValue(id, out var batch))
        {
            return Reply.Json(404, """{"error":{"message":"No batch found","type":"invalid_request_error"}}""");
        }

        var status = batch["status"]!.GetValue<string>();
        var next = status switch
        {
            "validating" => "in_progress",
            "in_progress" when !Proceed => "in_progress",
            "in_progress" => "finalizing",
            "finalizing" => Ending,
            "cancelling" => "cancelled",
            _ => status,
        };
        if (next != status)
        {
            batch["status"] = next;
            if (next is "completed" or "expired" or "cancelled")
            {
                Finish(batch, next == "completed" ? int.MaxValue : next == "expired" ? AnsweredBeforeExpiry : 0);
            }
            else if (next == "failed")
            {
                batch["errors"] = new JsonObject { ["object"] = "list", ["data"] = new JsonArray(new JsonObject { ["code"] = "invalid_model", ["message"] = "The model does not support batches." }) };
            }
        }

        Seen.Add(next);
        return Reply.Json(200, batch.ToJsonString());
    }

    private Reply Cancel(string id)
    {
        var batch = _batches[id];
        batch["status"] = "cancelling";
        return Reply.Json(200, batch.ToJsonString());
    }

    /// <summary>Answers the first <paramref name="answered"/> lines: successes to the output file, failures to the error file, each in reverse order.</summary>
    private void Finish(JsonObject batch, int answered)
    {
        var lines = _files[batch["input_file_id"]!.GetValue<string>()].Content.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var output = new StringBuilder();
        var errors = new StringBuilder();
        int completed = 0, failed = 0;
        foreach (var line in lines.Take(answered).Reverse())
        {
            using var document = JsonDocument.Parse(line);
            var customId = document.RootElement.GetProperty("custom_id").GetString();
            var (status, body) = Answer(document.RootElement.GetProperty("body"));
            var result = new JsonObject
            {
                ["id"] = $"batch_req_{++_next}", ["custom_id"] = customId,
                ["response"] = new JsonObject { ["status_code"] = status, ["request_id"] = $"req_{_next}", ["body"] = JsonNode.Parse(body) },
                ["error"] = null,
            }.ToJsonString();
            (status == 200 ? output : errors).Append(result).Append('\n');
            _ = status == 200 ? completed++ : failed++;
        }

        if (output.Length > 0)
        {
            var id = $"file-{++_next}";
            _files[id] = ("batch_output", output.ToString());
            batch["output_file_id"] = id;
        }

        if (errors.Length > 0)
        {
            var id = $"file-{++_next}";
            _files[id] = ("batch_output", errors.ToString());
            batch["error_file_id"] = id;
        }

        batch["request_counts"] = new JsonObject { ["total"] = lines.Length, ["completed"] = completed, ["failed"] = failed };
    }

    public void Dispose() => Server.Dispose();
}

using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace LlmTasks.Tests.Http;

/// <summary>
/// Anthropic's Message Batches API on a loopback server, as the real one speaks it: POST /v1/messages/batches,
/// GET /v1/messages/batches/{id} (in_progress → ended; canceling → ended), POST …/{id}/cancel, and the results JSONL
/// at the batch's results_url once it ended: one line per request, succeeded, errored, canceled or expired, in an
/// order of its own. Each request is answered by <see cref="Answer"/>.
/// </summary>
public sealed class FakeAnthropicBatchServer : IDisposable
{
    private readonly object _lock = new();
    private readonly Dictionary<string, (JsonObject Batch, JsonArray Requests)> _batches = [];
    private int _next;

    public FakeAnthropicBatchServer() => Server.Script(Reply.From(Handle));

    public LoopbackServer Server { get; } = new();

    /// <summary>The base URL tasks use (the SDK adds /v1/…).</summary>
    public string ApiBase => Server.Url;

    /// <summary>How each request's result line reads: "succeeded" (the default), "errored", "canceled" or "expired".</summary>
    public Func<JsonNode, string> Outcome { get; set; } = _ => "succeeded";

    /// <summary>Until set, batches stay in_progress.</summary>
    public volatile bool Proceed = true;

    public List<JsonObject> Created { get; } = [];

    private Reply Handle(RecordedRequest request)
    {
        lock (_lock)
        {
            var parts = request.Target.Split('?')[0].Trim('/').Split('/');
            return (request.Method, parts) switch
            {
                ("POST", ["v1", "messages", "batches"]) => Create(request),
                ("GET", ["v1", "messages", "batches", var id]) when _batches.ContainsKey(id) => Look(id),
                ("POST", ["v1", "messages", "batches", var id, "cancel"]) when _batches.ContainsKey(id) => Cancel(id),
                ("GET", ["v1", "messages", "batches", var id, "results"]) when _batches.ContainsKey(id) => Results(id),
                _ => Reply.Json(404, """{"type":"error","error":{"type":"not_found_error","message":"no such route"}}"""),
            };
        }
    }

    private Reply Create(RecordedRequest request)
    {
        var body = JsonNode.Parse(request.Body)!.AsObject();
        Created.Add(body);
        var requests = body["requests"]!.AsArray();
        var id = $"msgbatch_{++_next:D4}";
        var now = DateTimeOffset.UtcNow;
        var batch = new JsonObject
        {
            ["id"] = id, ["type"] = "message_batch", ["processing_status"] = "in_progress",
            ["request_counts"] = new JsonObject { ["processing"] = requests.Count, ["succeeded"] = 0, ["errored"] = 0, ["canceled"] = 0, ["expired"] = 0 },
            ["ended_at"] = null, ["created_at"] = now.ToString("O"), ["expires_at"] = now.AddHours(24).ToString("O"),
            ["archived_at"] = null, ["cancel_initiated_at"] = null, ["results_url"] = null,
        };
        _batches[id] = (batch, (JsonArray)requests.DeepClone());
        return Reply.Json(200, batch.ToJsonString());
    }

    private Reply Look(string id)
    {
        var (batch, requests) = _batches[id];
        var status = batch["processing_status"]!.GetValue<string>();
        if (status == "canceling" || (status == "in_progress" && Proceed))
        {
            End(id, batch, requests, cancelled: status == "canceling");
        }

        return Reply.Json(200, batch.ToJsonString());
    }

    private Reply Cancel(string id)
    {
        var batch = _batches[id].Batch;
        batch["processing_status"] = "canceling";
        batch["cancel_initiated_at"] = DateTimeOffset.UtcNow.ToString("O");
        return Reply.Json(200, batch.ToJsonString());
    }

    private void End(string id, JsonObject batch, JsonArray requests, bool cancelled)
    {
        var counts = new Dictionary<string, int> { ["processing"] = 0, ["succeeded"] = 0, ["errored"] = 0, ["canceled"] = 0, ["expired"] = 0 };
        foreach (var request in requests)
        {
            var outcome = cancelled ? "canceled" : Outcome(request!);
            request!["outcome"] = outcome;
            counts[outcome]++;
        }

        batch["processing_status"] = "ended";
        batch["ended_at"] = DateTimeOffset.UtcNow.ToString("O");
        batch["request_counts"] = new JsonObject(counts.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)kv.Value)));
        batch["results_url"] = $"{Server.Url}/v1/messages/batches/{id}/results";
    }

    private Reply Results(string id)
    {
        var (batch, requests) = _batches[id];
        if (batch["processing_status"]!.GetValue<string>() != "ended")
        {
            return Reply.Json(400, """{"type":"error","error":{"type":"invalid_request_error","message":"The batch has not ended."}}""");
        }

        var lines = new StringBuilder();
        foreach (var request in requests.Reverse())
        {
            var customId = request!["custom_id"]!.GetValue<string>();
            var prompt = request["params"]!["messages"]!.AsArray().Last()!["content"]!.GetValue<string>();
            JsonObject result = request["outcome"]!.GetValue<string>() switch
            {
                "succeeded" => new JsonObject
                {
                    ["type"] = "succeeded",
                    ["message"] = new JsonObject
                    {
                        ["id"] = $"msg_{++_next}", ["type"] = "message", ["role"] = "assistant", ["model"] = request["params"]!["model"]!.GetValue<string>(),
                        ["content"] = new JsonArray(new JsonObject { ["type"] = "text", ["text"] = "echo: " + prompt }),
                        ["stop_reason"] = "end_turn", ["stop_sequence"] = null,
                        ["usage"] = new JsonObject { ["input_tokens"] = 1000, ["output_tokens"] = 500 },
                    },
                },
                "errored" => new JsonObject
                {
                    ["type"] = "errored",
                    ["error"] = new JsonObject { ["type"] = "error", ["error"] = new JsonObject { ["type"] = "invalid_request_error", ["message"] = "max_tokens: too large for this model" } },
                },
                var other => new JsonObject { ["type"] = other },
            };
            lines.Append(new JsonObject { ["custom_id"] = customId, ["result"] = result }.ToJsonString()).Append('\n');
        }

        return Reply.Raw(200, Encoding.UTF8.GetBytes(lines.ToString()));
    }

    public void Dispose() => Server.Dispose();
}

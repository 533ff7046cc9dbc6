using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;

namespace LlmTasks.Tests.ClaudeCode;

/// <summary>
/// A loopback Anthropic Messages endpoint for the real Claude Code CLI: real sockets (HttpListener on
/// 127.0.0.1), SSE answers in the shape the CLI accepts, one scripted reply per POST /v1/messages,
/// and every request body kept so tests can assert what the CLI sent. GET / (the CLI's preconnect) gets 200.
/// </summary>
public sealed class FakeAnthropicServer : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly ConcurrentQueue<Reply> _replies = new();
    private readonly Task _loop;

    public FakeAnthropicServer(params Reply[] replies)
    {
        foreach (var reply in replies)
        {
            _replies.Enqueue(reply);
        }

        Port = FreePort();
        _listener.Prefixes.Add($"http://127.0.0.1:{Port}/");
        _listener.Start();
        _loop = Task.Run(LoopAsync);
    }

    public int Port { get; }
    public string BaseUrl => $"http://127.0.0.1:{Port}";

    /// <summary>The JSON bodies of the POST /v1/messages requests, in order.</summary>
    public ConcurrentQueue<JsonObject> Requests { get; } = new();

    /// <summary>The Authorization headers the CLI sent.</summary>
    public ConcurrentQueue<string> Authorizations { get; } = new();

    public abstract record Reply;
    public sealed record Text(string Value) : Reply;
    /// <summary>A text answer sent as several text deltas, <paramref name="GapMs"/> apart (a slow model writing).</summary>
    public sealed record Pieces(IReadOnlyList<string> Values, int GapMs) : Reply;
    public sealed record ToolUse(string Name, string InputJson) : Reply;
    public sealed record Error(int Status, string Type, string Message) : Reply;

    /// <summary>Every text block of every message the CLI sent in request <paramref name="index"/>, per message: (role, text).</summary>
    public List<(string Role, string Text)> Messages(int index)
    {
        var body = Requests.ElementAt(index);
        var list = new List<(string, string)>();
        foreach (var message in body["messages"]!.AsArray())
        {
            var role = message!["role"]!.GetValue<string>();
            var content = message["content"];
            if (content is JsonValue)
            {
                list.Add((role, content.GetValue<string>()));
            }
            else
            {
                foreach (var block in content!.AsArray())
                {
                    list.Add((role, block!["text"]?.GetValue<string>() ?? block.ToJsonString()));
                }
            }
        }

        return list;
    }

    public string SystemText(int index) => Requests.ElementAt(index)["system"]?.ToJsonString() ?? string.Empty;

    private async Task LoopAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }

            _ = Task.Run(() => HandleAsync(context));
        }
    }

    private async Task HandleAsync(HttpListenerContext context)
    {
        try
        {
            var request = context.Request;
            var response = context.Response;
            if (request.HttpMethod != "POST" || !request.Url!.AbsolutePath.StartsWith("/v1/messages", StringComparison.Ordinal))
            {
                response.StatusCode = 200;
                response.Close();
                return;
            }

            using var reader = new StreamReader(request.InputStream, Encoding.UTF8);
            var body = JsonNode.Parse(await reader.ReadToEndAsync())!.AsObject();
            Requests.Enqueue(body);
            Authorizations.Enqueue(request.Headers["Authorization"] ?? string.Empty);
            var model = body["model"]?.GetValue<string>() ?? "claude-sonnet-5";
            var reply = _replies.TryDequeue(out var next) ? next : new Text("(the fake endpoint has no more scripted replies)");
            if (reply is Error error)
            {
                var json = new JsonObject { ["type"] = "error", ["error"] = new JsonObject { ["type"] = error.Type, ["message"] = error.Message } }.ToJsonString();
                response.StatusCode = error.Status;
                response.ContentType = "application/json";
                var bytes = Encoding.UTF8.GetBytes(json);
                await response.OutputStream.WriteAsync(bytes);
                response.Close();
                return;
            }

            response.StatusCode = 200;
            response.ContentType = "text/event-stream";
            response.SendChunked = true;
            var id = "msg_fake_" + Guid.NewGuid().ToString("N")[..12];
            async Task Send(string name, JsonObject data)
            {
                var bytes = Encoding.UTF8.GetBytes($"event: {name}\ndata: {data.ToJsonString()}\n\n");
                await response.OutputStream.WriteAsync(bytes);
                await response.OutputStream.FlushAsync();
            }

            await Send("message_start", new JsonObject
            {
                ["type"] = "message_start",
                ["message"] = new JsonObject
                {
                    ["id"] = id, ["type"] = "message", ["role"] = "assistant", ["model"] = model, ["content"] = new JsonArray(),
                    ["stop_reason"] = null, ["stop_sequence"] = null,
                    ["usage"] = new JsonObject { ["input_tokens"] = 10, ["output_tokens"] = 1, ["cache_creation_input_tokens"] = 0, ["cache_read_input_tokens"] = 0 },
                },
            });
            string stop;
            if (reply is ToolUse tool)
            {
                await Send("content_block_start", new JsonObject
                {
                    ["type"] = "content_block_start", ["index"] = 0,
                    ["content_block"] = new JsonObject { ["type"] = "tool_use", ["id"] = "toolu_fake_" + Guid.NewGuid().ToString("N")[..12], ["name"] = tool.Name, ["input"] = new JsonObject() },
                });
                await Send("content_block_delta", new JsonObject
                {
                    ["type"] = "content_block_delta", ["index"] = 0,
                    ["delta"] = new JsonObject { ["type"] = "input_json_delta", ["partial_json"] = tool.InputJson },
                });
                stop = "tool_use";
            }
            else
            {
                await Send("content_block_start", new JsonObject
                {
                    ["type"] = "content_block_start", ["index"] = 0, ["content_block"] = new JsonObject { ["type"] = "text", ["text"] = "" },
                });
                var (pieces, gap) = reply is Pieces p ? (p.Values, p.GapMs) : ([((Text)reply).Value], 0);
                foreach (var piece in pieces)
                {
                    if (gap > 0)
                    {
                        await Task.Delay(gap);
                    }

                    await Send("content_block_delta", new JsonObject
                    {
                        ["type"] = "content_block_delta", ["index"] = 0,
                        ["delta"] = new JsonObject { ["type"] = "text_delta", ["text"] = piece },
                    });
                }

                stop = "end_turn";
            }

            await Send("content_block_stop", new JsonObject { ["type"] = "content_block_stop", ["index"] = 0 });
            await Send("message_delta", new JsonObject
            {
                ["type"] = "message_delta",
                ["delta"] = new JsonObject { ["stop_reason"] = stop, ["stop_sequence"] = null },
                ["usage"] = new JsonObject { ["output_tokens"] = 5 },
            });
            await Send("message_stop", new JsonObject { ["type"] = "message_stop" });
            response.Close();
        }
        catch (Exception e) when (e is HttpListenerException or IOException or ObjectDisposedException)
        {
            // the CLI went away
        }
    }

    /// <summary>A port nothing listens on (for the unreachable-endpoint case) or that this server takes.</summary>
    public static int FreePort()
    {
        var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        var port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        return port;
    }

    public void Dispose()
    {
        _listener.Stop();
        _listener.Close();
        try
        {
            _loop.Wait(TimeSpan.FromSeconds(5));
        }
        catch (AggregateException)
        {
        }
    }
}

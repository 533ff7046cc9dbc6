using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace LlmTasks.Bench;

/// <summary>
/// A loopback OpenAI-style endpoint (Kestrel on 127.0.0.1, real sockets): POST /v1/chat/completions
/// answers after a fixed delay with a chat.completion, or (a request with "stream": true, as LlmTasks sends by default)
/// with the same answer as server-sent chunks: the text, then the finish reason and usage, then [DONE]. It counts
/// requests and the most it served at once.
/// </summary>
internal sealed class ChatEndpoint : IAsyncDisposable
{
    private const string Answer = """
        {"id":"chatcmpl-bench","object":"chat.completion","created":1700000000,"model":"bench","choices":[{"index":0,"message":{"role":"assistant","content":"pong"},"finish_reason":"stop"}],"usage":{"prompt_tokens":9,"completion_tokens":1,"total_tokens":10}}
        """;

    // The same answer as OpenAI streams it: the text, the finish reason, the usage (stream_options.include_usage), the end.
    private const string Streamed =
        "data: {\"id\":\"chatcmpl-bench\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,\"model\":\"bench\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"pong\"},\"finish_reason\":null}]}\n\n" +
        "data: {\"id\":\"chatcmpl-bench\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,\"model\":\"bench\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n" +
        "data: {\"id\":\"chatcmpl-bench\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,\"model\":\"bench\",\"choices\":[],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":1,\"total_tokens\":10}}\n\n" +
        "data: [DONE]\n\n";

    private readonly WebApplication _app;
    private int _inFlight;
    private int _peak;
    private int _requests;

    private ChatEndpoint(WebApplication app) => _app = app;

    public Uri BaseAddress { get; private set; } = null!;

    /// <summary>The OpenAI-style base URL (…/v1).</summary>
    public string ApiBase => new Uri(BaseAddress, "v1").ToString();

    public string CompletionsUrl => new Uri(BaseAddress, "v1/chat/completions").ToString();

    public int Requests => Volatile.Read(ref _requests);

    public int Peak => Volatile.Read(ref _peak);

    public void ResetCounters()
    {
        Volatile.Write(ref _requests, 0);
        Volatile.Write(ref _peak, 0);
    }

    public static async Task<ChatEndpoint> StartAsync(TimeSpan delay)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(k =>
        {
            k.Listen(IPAddress.Loopback, 0);
            k.Limits.MaxConcurrentConnections = null;
        });
        var app = builder.Build();
        var endpoint = new ChatEndpoint(app);
        app.MapPost("/v1/chat/completions", async (HttpContext context) =>
        {
            var now = Interlocked.Increment(ref endpoint._inFlight);
            Interlocked.Increment(ref endpoint._requests);
            int peak;
            while (now > (peak = Volatile.Read(ref endpoint._peak)) && Interlocked.CompareExchange(ref endpoint._peak, now, peak) != peak)
            {
            }

            try
            {
                // Read the request as a server would, then answer after the model's "latency".
                using var body = new StreamReader(context.Request.Body);
                var text = await body.ReadToEndAsync(context.RequestAborted);
                if (!text.Contains("\"messages\"", StringComparison.Ordinal))
                {
                    context.Response.StatusCode = 400;
                    return;
                }

                await Task.Delay(delay, context.RequestAborted);
                if (text.Contains("\"stream\":true", StringComparison.Ordinal))
                {
                    context.Response.ContentType = "text/event-stream";
                    await context.Response.WriteAsync(Streamed, context.RequestAborted);
                    return;
                }

                context.Response.ContentType = "application/json";
                await context.Response.WriteAsync(Answer, context.RequestAborted);
            }
            finally
            {
                Interlocked.Decrement(ref endpoint._inFlight);
            }
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        endpoint.BaseAddress = new Uri(address.EndsWith('/') ? address : address + "/");
        return endpoint;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

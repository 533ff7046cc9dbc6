using System.Diagnostics;
using System.Globalization;
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
/// A loopback OpenAI-style endpoint (Kestrel, 127.0.0.1) that enforces requests per minute the way OpenAI does: a token
/// bucket refilled at the rate and holding a second of it (OpenAI enforces per-minute limits over shorter periods), full
/// at the start; past it a 429 with retry-after-ms; x-ratelimit-limit|remaining|reset-requests on every answer. It
/// answers at once (the quota, not the latency, is what is measured), streamed when asked, and counts what it answered
/// and when.
/// </summary>
internal sealed class QuotaEndpoint : IAsyncDisposable
{
    private const string Answer = """
        {"id":"chatcmpl-bench","object":"chat.completion","created":1700000000,"model":"bench","choices":[{"index":0,"message":{"role":"assistant","content":"pong"},"finish_reason":"stop"}],"usage":{"prompt_tokens":9,"completion_tokens":1,"total_tokens":10}}
        """;

    private const string Streamed =
        "data: {\"id\":\"chatcmpl-bench\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,\"model\":\"bench\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"pong\"},\"finish_reason\":null}]}\n\n" +
        "data: {\"id\":\"chatcmpl-bench\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,\"model\":\"bench\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n" +
        "data: {\"id\":\"chatcmpl-bench\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,\"model\":\"bench\",\"choices\":[],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":1,\"total_tokens\":10}}\n\n" +
        "data: [DONE]\n\n";

    private const string Refusal = """{"error":{"message":"Rate limit reached for requests","type":"requests","param":null,"code":"rate_limit_exceeded"}}""";

    private readonly WebApplication _app;
    private readonly object _gate = new();
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly double _perSecond;
    private readonly double _capacity;
    private double _level;
    private double _stamp;
    private double _first = -1;
    private double _last;
    private int _ok;
    private int _limited;

    private QuotaEndpoint(WebApplication app, int requestsPerMinute)
    {
        _app = app;
        RequestsPerMinute = requestsPerMinute;
        _perSecond = requestsPerMinute / 60.0;
        _capacity = _level = Math.Max(1, _perSecond);
    }

    public int RequestsPerMinute { get; }

    public double Capacity => _capacity;

    public string ApiBase { get; private set; } = string.Empty;

    public int Answered => Volatile.Read(ref _ok);

    public int RateLimited => Volatile.Read(ref _limited);

    /// <summary>Seconds from the first request to the last one answered.</summary>
    public double Span
    {
        get
        {
            lock (_gate)
            {
                return _first < 0 ? 0 : _last - _first;
            }
        }
    }

    /// <summary>Seconds from the first request until now (the run's end, when a run has just returned).</summary>
    public double SinceFirst()
    {
        lock (_gate)
        {
            return _first < 0 ? 0 : _clock.Elapsed.TotalSeconds - _first;
        }
    }

    /// <summary>A fresh bucket (full, as at the start) and counters, for the next run.</summary>
    public void Reset()
    {
        lock (_gate)
        {
            _level = _capacity;
            _stamp = _clock.Elapsed.TotalSeconds;
            _first = -1;
            _last = 0;
            _ok = 0;
            _limited = 0;
        }
    }

    public static async Task<QuotaEndpoint> StartAsync(int requestsPerMinute)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(k =>
        {
            k.Listen(IPAddress.Loopback, 0);
            k.Limits.MaxConcurrentConnections = null;
        });
        var app = builder.Build();
        var endpoint = new QuotaEndpoint(app, requestsPerMinute);
        app.MapPost("/v1/chat/completions", async (HttpContext context) =>
        {
            using var body = new StreamReader(context.Request.Body);
            var text = await body.ReadToEndAsync(context.RequestAborted);
            var (allowed, wait, remaining) = endpoint.Take();
            var headers = context.Response.Headers;
            headers["x-ratelimit-limit-requests"] = requestsPerMinute.ToString(CultureInfo.InvariantCulture);
            headers["x-ratelimit-remaining-requests"] = remaining.ToString(CultureInfo.InvariantCulture);
            headers["x-ratelimit-reset-requests"] = $"{(long)((endpoint._capacity - remaining) / endpoint._perSecond * 1000)}ms";
            if (!allowed)
            {
                context.Response.StatusCode = 429;
                headers["retry-after-ms"] = ((long)Math.Ceiling(wait * 1000)).ToString(CultureInfo.InvariantCulture);
                headers["retry-after"] = Math.Max(1, (long)Math.Ceiling(wait)).ToString(CultureInfo.InvariantCulture);
                context.Response.ContentType = "application/json";
                await context.Response.WriteAsync(Refusal, context.RequestAborted);
                return;
            }

            var streamed = text.Contains("\"stream\":true", StringComparison.Ordinal);
            context.Response.ContentType = streamed ? "text/event-stream" : "application/json";
            await context.Response.WriteAsync(streamed ? Streamed : Answer, context.RequestAborted);
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        endpoint.ApiBase = new Uri(new Uri(address.EndsWith('/') ? address : address + "/"), "v1").ToString();
        endpoint.Reset();
        return endpoint;
    }

    private (bool Allowed, double Wait, long Remaining) Take()
    {
        lock (_gate)
        {
            var now = _clock.Elapsed.TotalSeconds;
            _level = Math.Min(_capacity, _level + (now - _stamp) * _perSecond);
            _stamp = now;
            if (_first < 0)
            {
                _first = now;
            }

            if (_level < 1)
            {
                _limited++;
                return (false, (1 - _level) / _perSecond, 0);
            }

            _level -= 1;
            _ok++;
            _last = now;
            return (true, 0, (long)_level);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

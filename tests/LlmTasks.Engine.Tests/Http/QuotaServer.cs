using System.Diagnostics;
using System.Globalization;

namespace LlmTasks.Tests.Http;

/// <summary>
/// A loopback OpenAI-style endpoint that enforces requests and tokens per minute the way OpenAI does: a token bucket per
/// quota (holding <paramref name="burstSeconds"/> of its rate, full at the start), a request's tokens counted as its
/// prompt (characters / 4) plus its max_completion_tokens, a 429 with retry-after-ms once either bucket is short, and
/// x-ratelimit-limit|remaining|reset-requests|tokens headers on every answer. Counts what it answered.
/// </summary>
public sealed class QuotaServer : IDisposable
{
    private readonly object _gate = new();
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly double _requestsPerSecond;
    private readonly double _tokensPerSecond;
    private readonly double _requestCapacity;
    private readonly double _tokenCapacity;
    private double _requests;
    private double _tokens;
    private double _stamp;
    private int _ok;
    private int _limited;

    /// <summary>The first <see cref="RefuseFirst"/> requests are answered 429 (retry-after-ms 300, nothing remaining), as when another client has just spent the quota.</summary>
    public int RefuseFirst { get; init; }

    private int _seen;

    public QuotaServer(int requestsPerMinute, long tokensPerMinute = 1_000_000_000, double burstSeconds = 1, int answerTokens = 5)
    {
        RequestsPerMinute = requestsPerMinute;
        TokensPerMinute = tokensPerMinute;
        _requestsPerSecond = requestsPerMinute / 60.0;
        _tokensPerSecond = tokensPerMinute / 60.0;
        _requestCapacity = _requests = Math.Max(1, _requestsPerSecond * burstSeconds);
        _tokenCapacity = _tokens = Math.Max(1, _tokensPerSecond * burstSeconds);
        Server.Script(Reply.From(request => Answer(request, answerTokens)));
    }

    public LoopbackServer Server { get; } = new();

    public string BaseUrl => Server.Url + "/v1";

    public int RequestsPerMinute { get; }

    public long TokensPerMinute { get; }

    public int Answered => Volatile.Read(ref _ok);

    public int RateLimited => Volatile.Read(ref _limited);

    private Reply Answer(RecordedRequest request, int answerTokens)
    {
        var body = request.Json;
        var prompt = body.GetProperty("messages").EnumerateArray().Sum(m => m.GetProperty("content").GetString()!.Length);
        var promptTokens = Math.Max(1, prompt / 4);
        var cost = promptTokens + (body.TryGetProperty("max_completion_tokens", out var max) ? max.GetInt32() : answerTokens);
        lock (_gate)
        {
            var now = _clock.Elapsed.TotalSeconds;
            _requests = Math.Min(_requestCapacity, _requests + (now - _stamp) * _requestsPerSecond);
            _tokens = Math.Min(_tokenCapacity, _tokens + (now - _stamp) * _tokensPerSecond);
            _stamp = now;
            if (++_seen <= RefuseFirst)
            {
                _limited++;
                return Reply.Json(429, RecordedResponses.OpenAIError("Rate limit reached for requests.", "requests", "rate_limit_exceeded"),
                    [("retry-after-ms", "300"), ("x-ratelimit-limit-requests", RequestsPerMinute.ToString(CultureInfo.InvariantCulture)), ("x-ratelimit-remaining-requests", "0")]);
            }

            if (_requests < 1 || _tokens < cost)
            {
                _limited++;
                var wait = Math.Max(_requests < 1 ? (1 - _requests) / _requestsPerSecond : 0, _tokens < cost ? (cost - _tokens) / _tokensPerSecond : 0);
                return Reply.Json(429, RecordedResponses.OpenAIError("Rate limit reached for requests.", "requests", "rate_limit_exceeded"),
                    [("retry-after-ms", ((long)Math.Ceiling(wait * 1000)).ToString(CultureInfo.InvariantCulture)), .. Headers()]);
            }

            _requests -= 1;
            _tokens -= cost;
            _ok++;
            return Reply.Json(200, RecordedResponses.OpenAIChat("ok", promptTokens, answerTokens), Headers());
        }
    }

    private (string, string)[] Headers() =>
    [
        ("x-ratelimit-limit-requests", RequestsPerMinute.ToString(CultureInfo.InvariantCulture)),
        ("x-ratelimit-remaining-requests", ((long)Math.Max(0, _requests)).ToString(CultureInfo.InvariantCulture)),
        ("x-ratelimit-reset-requests", $"{(long)((_requestCapacity - _requests) / _requestsPerSecond * 1000)}ms"),
        ("x-ratelimit-limit-tokens", TokensPerMinute.ToString(CultureInfo.InvariantCulture)),
        ("x-ratelimit-remaining-tokens", ((long)Math.Max(0, _tokens)).ToString(CultureInfo.InvariantCulture)),
        ("x-ratelimit-reset-tokens", $"{(long)((_tokenCapacity - _tokens) / _tokensPerSecond * 1000)}ms"),
    ];

    public void Dispose() => Server.Dispose();
}

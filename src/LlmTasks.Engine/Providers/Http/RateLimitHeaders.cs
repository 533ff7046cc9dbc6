using System.Globalization;
using System.Net.Http.Headers;
using System.Text.RegularExpressions;

namespace LlmTasks.Providers.Http;

/// <summary>
/// What a provider's response said about its rate limits, as pacing reads it: OpenAI's
/// <c>x-ratelimit-limit|remaining|reset-requests|tokens</c>, Anthropic's <c>anthropic-ratelimit-requests|tokens-limit|remaining|reset</c>
/// (the input-tokens ones where the combined ones are missing) and <c>retry-after-ms</c> / <c>Retry-After</c>.
/// </summary>
internal sealed record RateLimitReport(int Status, long? RequestLimit, long? RequestsRemaining, TimeSpan? RequestsReset,
    long? TokenLimit, long? TokensRemaining, TimeSpan? TokensReset, TimeSpan? RetryAfter)
{
    public bool SaysAnything => RequestLimit is not null || TokenLimit is not null || RequestsRemaining is not null || TokensRemaining is not null || RetryAfter is not null;
}

/// <summary>
/// Keeps the rate-limit headers of the responses of one call (<see cref="AnswerLimit"/>, under every HTTP provider, notes
/// them in the calling flow's box: an AsyncLocal flows into the SDK, the box flows back). The pacing decorator reads them.
/// </summary>
internal static partial class RateLimitHeaders
{
    public static readonly AsyncLocal<Box?> Current = new();

    /// <summary>The last report of the call's flow.</summary>
    internal sealed class Box
    {
        public RateLimitReport? Report { get; set; }

        /// <summary>Called as each response's headers arrive (with what they said, or null), before its body is read.</summary>
        public Action<RateLimitReport?>? HeadersArrived { get; set; }

        /// <summary>The call's clock (the pipeline's <see cref="TimeProvider"/>), which a reset given as an instant is read against.</summary>
        public TimeProvider Time { get; init; } = TimeProvider.System;
    }

    /// <summary>Notes a response's headers in the calling flow's box, read on that call's clock; no box, nothing to do.</summary>
    public static void Note(HttpResponseMessage response)
    {
        if (Current.Value is not { } box)
        {
            return;
        }

        var report = Read((int)response.StatusCode, response.Headers, box.Time) is { SaysAnything: true } read ? read : null;
        if (report is not null)
        {
            box.Report = report;
        }

        box.HeadersArrived?.Invoke(report);
    }

    public static RateLimitReport Read(int status, HttpResponseHeaders headers, TimeProvider time)
    {
        string? H(string name) => headers.TryGetValues(name, out var values) ? values.FirstOrDefault()?.Trim() : null;
        var anthropicTokens = H("anthropic-ratelimit-tokens-limit") is not null ? "tokens" : "input-tokens";
        var retryAfter = Execution.RetryAfter.Parse(H("retry-after-ms"), H("retry-after"), time);
        return new RateLimitReport(status,
            Count(H("x-ratelimit-limit-requests")) ?? Count(H("anthropic-ratelimit-requests-limit")),
            Count(H("x-ratelimit-remaining-requests")) ?? Count(H("anthropic-ratelimit-requests-remaining")),
            Duration(H("x-ratelimit-reset-requests")) ?? Instant(H("anthropic-ratelimit-requests-reset"), time),
            Count(H("x-ratelimit-limit-tokens")) ?? Count(H($"anthropic-ratelimit-{anthropicTokens}-limit")),
            Count(H("x-ratelimit-remaining-tokens")) ?? Count(H($"anthropic-ratelimit-{anthropicTokens}-remaining")),
            Duration(H("x-ratelimit-reset-tokens")) ?? Instant(H($"anthropic-ratelimit-{anthropicTokens}-reset"), time),
            retryAfter);
    }

    private static long? Count(string? text) =>
        long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n >= 0 ? n : null;

    /// <summary>OpenAI's durations: 20ms, 1s, 6m0s, 1h2m3.5s, 0.5s.</summary>
    internal static TimeSpan? Duration(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return null;
        }

        var match = GoDuration().Match(text);
        if (!match.Success)
        {
            return null;
        }

        double Part(string group) => match.Groups[group].Success ? double.Parse(match.Groups[group].Value, CultureInfo.InvariantCulture) : 0;
        return TimeSpan.FromHours(Part("h")) + TimeSpan.FromMinutes(Part("m")) + TimeSpan.FromSeconds(Part("s")) + TimeSpan.FromMilliseconds(Part("ms"));
    }

    /// <summary>Anthropic's resets: an RFC 3339 instant, as a time from now.</summary>
    private static TimeSpan? Instant(string? text, TimeProvider time) =>
        DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at)
            ? at - time.GetUtcNow() is { } wait && wait > TimeSpan.Zero ? wait : TimeSpan.Zero
            : null;

    [GeneratedRegex(@"^(?:(?<h>\d+(?:\.\d+)?)h)?(?:(?<m>\d+(?:\.\d+)?)m(?!s))?(?:(?<s>\d+(?:\.\d+)?)s)?(?:(?<ms>\d+(?:\.\d+)?)ms)?$")]
    private static partial Regex GoDuration();
}

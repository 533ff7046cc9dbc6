using System.Globalization;

namespace LlmTasks.Execution;

/// <summary>Reads the servers' retry headers: retry-after-ms (milliseconds), else Retry-After (seconds or an HTTP date).</summary>
internal static class RetryAfter
{
    public static TimeSpan? Parse(string? retryAfterMs, string? retryAfter, TimeProvider time)
    {
        if (double.TryParse(retryAfterMs, NumberStyles.Float, CultureInfo.InvariantCulture, out var ms) && ms >= 0 && !double.IsInfinity(ms))
        {
            return TimeSpan.FromMilliseconds(ms);
        }

        if (double.TryParse(retryAfter, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) && seconds >= 0 && seconds < TimeSpan.MaxValue.TotalSeconds)
        {
            return TimeSpan.FromSeconds(seconds);
        }

        if (retryAfter is not null
            && DateTimeOffset.TryParseExact(retryAfter.Trim(), "r", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var when))
        {
            var wait = when - time.GetUtcNow();
            return wait > TimeSpan.Zero ? wait : TimeSpan.Zero;
        }

        return null;
    }
}

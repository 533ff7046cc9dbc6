namespace LlmTasks.Storage;

/// <summary>The store keeps instants as UTC milliseconds since the Unix epoch; objects show local time.</summary>
internal static class UnixTime
{
    public static long Ms(DateTimeOffset instant) => instant.ToUnixTimeMilliseconds();

    public static long Ms(DateTime instant) => new DateTimeOffset(instant.ToUniversalTime()).ToUnixTimeMilliseconds();

    public static DateTime Local(long ms) => DateTimeOffset.FromUnixTimeMilliseconds(ms).LocalDateTime;

    public static DateTime? Local(long? ms) => ms is { } v ? Local(v) : null;
}

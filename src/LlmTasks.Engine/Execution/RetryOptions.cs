using System.Globalization;

namespace LlmTasks.Execution;

/// <summary>
/// The engine's one retry loop for model calls (Polly). Transient failures (408, 429, 5xx, 529,
/// refused or reset connections, timeouts) are tried again; the server's retry-after-ms or
/// Retry-After wins over the backoff, and both are capped at <see cref="MaxDelay"/>.
/// </summary>
public sealed record RetryOptions
{
    public const string MaxRetriesVariable = "LLMTASKS_MAX_RETRIES";

    /// <summary>Tries after the first one ($env:LLMTASKS_MAX_RETRIES, default 3); 0 turns retries off.</summary>
    public int MaxRetries { get; init; } = ReadCount(Environment.GetEnvironmentVariable(MaxRetriesVariable)) ?? 3;

    /// <summary>The first backoff delay; it doubles per retry, with jitter.</summary>
    public TimeSpan BaseDelay { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>The longest wait between tries, whether from the backoff or from the server's retry headers.</summary>
    public TimeSpan MaxDelay { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How long one try may take before it counts as a (transient) timeout. -TimeoutSec bounds all tries together.</summary>
    public TimeSpan AttemptTimeout { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>The clock for delays and HTTP-date Retry-After values (tests pass a FakeTimeProvider).</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    private static int? ReadCount(string? text) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : null;
}

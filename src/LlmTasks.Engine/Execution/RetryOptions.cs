using LlmTasks.Configuration;

namespace LlmTasks.Execution;

/// <summary>
/// The engine's one retry loop for model calls (Polly). Transient failures (408, 429, 5xx, 529,
/// refused or reset connections, timeouts, a stream cut off mid-answer) are tried again; the server's
/// retry-after-ms or Retry-After wins over the backoff, and both are capped at <see cref="MaxDelay"/>.
/// Checked when its pipeline is built (<see cref="Validate"/>), as Polly checks its own options.
/// </summary>
public sealed record RetryOptions
{
    public const string MaxRetriesVariable = "LLMTASKS_MAX_RETRIES";

    /// <summary>The most tries after the first one $env:LLMTASKS_MAX_RETRIES may ask for.</summary>
    public const int MaxRetriesLimit = 100;

    /// <summary>Tries after the first one ($env:LLMTASKS_MAX_RETRIES, default 3); 0 turns retries off.</summary>
    public int MaxRetries { get; init; } = EngineEnvironment.Process.Int(MaxRetriesVariable, 0, MaxRetriesLimit, "3") ?? 3;

    /// <summary>The first backoff delay; it doubles per retry, with jitter.</summary>
    public TimeSpan BaseDelay { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>The longest wait between tries, whether from the backoff or from the server's retry headers.</summary>
    public TimeSpan MaxDelay { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How long one try may take before it counts as a (transient) timeout. -TimeoutSec bounds all tries together.</summary>
    public TimeSpan AttemptTimeout { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>The clock for delays and HTTP-date Retry-After values (tests pass a FakeTimeProvider).</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>Throws an <see cref="ErrorIds.InvalidOption"/> error naming the first value out of range.</summary>
    public void Validate()
    {
        string? problem = MaxRetries is < 0 or > MaxRetriesLimit ? $"MaxRetries must be from 0 to {MaxRetriesLimit}; got {MaxRetries}."
            : BaseDelay < TimeSpan.Zero ? $"BaseDelay must not be negative; got {BaseDelay}."
            : MaxDelay < BaseDelay ? $"MaxDelay ({MaxDelay}) must not be shorter than BaseDelay ({BaseDelay})."
            : AttemptTimeout <= TimeSpan.Zero || AttemptTimeout > TimeSpan.FromDays(1) ? $"AttemptTimeout must be over 0 and at most a day; got {AttemptTimeout}."
            : null;
        if (problem is not null)
        {
            throw new LlmTasksException(ErrorIds.InvalidOption, LlmErrorCategory.InvalidArgument, "Invalid retry options: " + problem) { Target = this };
        }
    }
}

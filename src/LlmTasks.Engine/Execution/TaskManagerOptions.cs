using System.Globalization;
using LlmTasks.Configuration;
using LlmTasks.Storage;

namespace LlmTasks.Execution;

/// <summary>
/// How a task manager runs work. Every value has an environment override for operators and tests, read
/// (through <see cref="EngineEnvironment"/>) and checked when the options are built: a bad value is an error naming its variable.
/// </summary>
public sealed record TaskManagerOptions
{
    public const string LeaseVariable = "LLMTASKS_LEASE_SECONDS";
    public const string ProviderLimitsVariable = "LLMTASKS_PROVIDER_LIMITS";
    public const string ThrottleLimitVariable = "LLMTASKS_THROTTLE_LIMIT";
    public const string StreamingVariable = "LLMTASKS_STREAMING";
    public const string BatchWindowVariable = "LLMTASKS_BATCH_WINDOW_SECONDS";
    public const string BatchPollVariable = "LLMTASKS_BATCH_POLL_SECONDS";

    /// <summary>The most calls at once a process (or one provider) may be given.</summary>
    public const int ConcurrencyLimit = 1024;

    /// <summary>
    /// How many model calls run at once in this process: $env:LLMTASKS_THROTTLE_LIMIT, else 8.
    /// Start-LlmTask -ThrottleLimit changes it for the session.
    /// </summary>
    public int Concurrency { get; init; } = EngineEnvironment.Process.Int(ThrottleLimitVariable, 1, ConcurrencyLimit, "8") ?? 8;

    /// <summary>Per-provider limits (prefix → calls at once), over the providers' own defaults. $env:LLMTASKS_PROVIDER_LIMITS = 'max=2,openai=16'.</summary>
    public IReadOnlyDictionary<string, int> ProviderLimits { get; init; } = ReadLimits(EngineEnvironment.Process);

    /// <summary>
    /// How long a claim on a task lasts without renewal ($env:LLMTASKS_LEASE_SECONDS, default 30 s); it is
    /// renewed every third of it. A process that died on this machine is noticed at once (its pid is gone);
    /// one on another machine, or one that hangs, loses its tasks when this runs out.
    /// </summary>
    public TimeSpan Lease { get; init; } =
        EngineEnvironment.Process.Number(LeaseVariable, 0, 7 * 24 * 3600, "30") is { } s ? TimeSpan.FromSeconds(s) : TimeSpan.FromSeconds(30);

    /// <summary>How often the manager looks for unclaimed work in the store and renews its leases (a third of the lease at most).</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>How many times a task whose process died is run again before it fails.</summary>
    public int RecoveryLimit { get; init; } = 3;

    /// <summary>
    /// Whether this manager runs the store's left-over work from the moment it opens, as a worker
    /// (<see cref="TaskManager.StartWorker"/>) does. Off by default: a manager runs what it starts,
    /// restarts and waits for, and left-over work only while a worker runs.
    /// </summary>
    public bool ClaimStoreWork { get; init; }

    /// <summary>The retry loop around each model call: how many tries, how long between them, how long one may take.</summary>
    public RetryOptions Retry { get; init; } = new();

    public StoreOptions Store { get; init; } = StoreOptions.Default;

    /// <summary>
    /// Whether calls stream where the provider can (OpenAI-compatible, Azure, Anthropic, max/*): partial output is
    /// saved while the answer arrives and Wait-LlmTask -Stream shows it. $env:LLMTASKS_STREAMING = 0 turns it off.
    /// </summary>
    public bool Streaming { get; init; } = EngineEnvironment.Process.Flag(StreamingVariable, "1") ?? true;

    /// <summary>A streamed answer's partial text is saved at most this often…</summary>
    public TimeSpan PartialOutputInterval { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>…or once this much new text (in characters) has arrived since the last save.</summary>
    public int PartialOutputChars { get; init; } = 4096;

    /// <summary>
    /// How long a gathering of -AsBatch tasks waits for another task to join before it is sent as one batch (a quiet
    /// window: each task that joins restarts it): $env:LLMTASKS_BATCH_WINDOW_SECONDS, default 2 s.
    /// </summary>
    public TimeSpan BatchWindow { get; init; } =
        EngineEnvironment.Process.Number(BatchWindowVariable, 0, 3600, "2") is { } w ? TimeSpan.FromSeconds(w) : TimeSpan.FromSeconds(2);

    /// <summary>A gathering is sent after this long whatever joins it (a pipeline that goes on for minutes becomes several batches).</summary>
    public TimeSpan BatchGatherMax { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>The first look at a batch after it was sent; each look that finds it unfinished doubles the wait, up to <see cref="BatchPollMax"/>.</summary>
    public TimeSpan BatchPollMin { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>The longest wait between two looks at a batch: $env:LLMTASKS_BATCH_POLL_SECONDS, default 30 s.</summary>
    public TimeSpan BatchPollMax { get; init; } =
        EngineEnvironment.Process.Number(BatchPollVariable, 0, 3600, "30") is { } p ? TimeSpan.FromSeconds(p) : TimeSpan.FromSeconds(30);

    /// <summary>
    /// The one clock of the manager: task timeouts, waits, retry delays, judge calls and the store's times.
    /// When it is not the system clock it replaces the clocks of <see cref="Retry"/> and <see cref="Store"/>.
    /// </summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>The configured rate limits ($env:LLMTASKS_RATE_LIMITS and Set-LlmRateLimit: the process's own by default).</summary>
    public Limits.RateLimitOptions RateLimits { get; init; } = Limits.RateLimitOptions.Process;

    internal TimeSpan HeartbeatInterval => TimeSpan.FromTicks(Math.Max(TimeSpan.FromMilliseconds(50).Ticks, Lease.Ticks / 3));

    /// <summary>These options with one clock: <see cref="Time"/> (when set) for the retry loop and the store too.</summary>
    internal TaskManagerOptions WithOneClock() => ReferenceEquals(Time, TimeProvider.System)
        ? (ReferenceEquals(Retry.TimeProvider, TimeProvider.System) ? this : this with { Time = Retry.TimeProvider, Store = Store with { Time = Retry.TimeProvider } })
        : this with { Retry = Retry with { TimeProvider = Time }, Store = Store with { Time = Time } };

    private static IReadOnlyDictionary<string, int> ReadLimits(EngineEnvironment environment)
    {
        var text = environment.Text(ProviderLimitsVariable);
        return ParseLimits(text, pair => EngineEnvironment.Invalid(ProviderLimitsVariable, text!,
            $"a list of provider=limit pairs such as 'max=2,openai=16' (limits from 1 to {ConcurrencyLimit}); '{pair}' is not one"));
    }

    internal static IReadOnlyDictionary<string, int> ParseLimits(string? text, Func<string, Exception>? invalid = null)
    {
        var limits = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
        foreach (var pair in (text ?? string.Empty).Split([',', ';'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var parts = pair.Split('=', 2, StringSplitOptions.TrimEntries);
            if (parts.Length == 2 && parts[0].Length > 0 && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n is > 0 and <= ConcurrencyLimit)
            {
                limits[parts[0]] = n;
            }
            else if (invalid is not null)
            {
                throw invalid(pair);
            }
        }

        return limits;
    }
}

using System.Globalization;
using LlmTasks.Storage;

namespace LlmTasks.Execution;

/// <summary>How a task manager runs work. Every value has an environment override for operators and tests.</summary>
public sealed record TaskManagerOptions
{
    public const string LeaseVariable = "LLMTASKS_LEASE_SECONDS";
    public const string ProviderLimitsVariable = "LLMTASKS_PROVIDER_LIMITS";
    public const string ThrottleLimitVariable = "LLMTASKS_THROTTLE_LIMIT";

    /// <summary>
    /// How many model calls run at once in this process: $env:LLMTASKS_THROTTLE_LIMIT, else 8.
    /// Start-LlmTask -ThrottleLimit changes it for the session.
    /// </summary>
    public int Concurrency { get; init; } =
        int.TryParse(Environment.GetEnvironmentVariable(ThrottleLimitVariable), NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0 ? Math.Min(n, 1024) : 8;

    /// <summary>Per-provider limits (prefix → calls at once), over the providers' own defaults. $env:LLMTASKS_PROVIDER_LIMITS = 'max=2,openai=16'.</summary>
    public IReadOnlyDictionary<string, int> ProviderLimits { get; init; } = ParseLimits(Environment.GetEnvironmentVariable(ProviderLimitsVariable));

    /// <summary>
    /// How long a claim on a task lasts without renewal ($env:LLMTASKS_LEASE_SECONDS, default 30 s); it is
    /// renewed every third of it. A process that died on this machine is noticed at once (its pid is gone);
    /// one on another machine, or one that hangs, loses its tasks when this runs out.
    /// </summary>
    public TimeSpan Lease { get; init; } = Seconds(Environment.GetEnvironmentVariable(LeaseVariable)) ?? TimeSpan.FromSeconds(30);

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

    internal TimeSpan HeartbeatInterval => TimeSpan.FromTicks(Math.Max(TimeSpan.FromMilliseconds(50).Ticks, Lease.Ticks / 3));

    private static TimeSpan? Seconds(string? text) =>
        double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var s) && s > 0 ? TimeSpan.FromSeconds(s) : null;

    internal static IReadOnlyDictionary<string, int> ParseLimits(string? text)
    {
        var limits = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
        foreach (var pair in (text ?? string.Empty).Split([',', ';'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var parts = pair.Split('=', 2, StringSplitOptions.TrimEntries);
            if (parts.Length == 2 && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0)
            {
                limits[parts[0]] = n;
            }
        }

        return limits;
    }
}

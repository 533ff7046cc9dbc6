using System.Globalization;
using LlmTasks.Storage;

namespace LlmTasks.Execution;

/// <summary>How a task manager runs work. Every value has an environment override for operators and tests.</summary>
public sealed record TaskManagerOptions
{
    public const string LeaseVariable = "LLMTASKS_LEASE_SECONDS";
    public const string ProviderLimitsVariable = "LLMTASKS_PROVIDER_LIMITS";

    /// <summary>How many model calls run at once in this process (Start-LlmTask -ThrottleLimit).</summary>
    public int Concurrency { get; init; } = 8;

    /// <summary>Per-provider limits (prefix → calls at once), over the providers' own defaults. $env:LLMTASKS_PROVIDER_LIMITS = 'max=2,openai=16'.</summary>
    public IReadOnlyDictionary<string, int> ProviderLimits { get; init; } = ParseLimits(Environment.GetEnvironmentVariable(ProviderLimitsVariable));

    /// <summary>How long a claim on a task lasts without renewal. A crashed process's tasks are picked up after this.</summary>
    public TimeSpan Lease { get; init; } = Seconds(Environment.GetEnvironmentVariable(LeaseVariable)) ?? TimeSpan.FromSeconds(30);

    /// <summary>How often the manager looks for unclaimed work in the store and renews its leases (a third of the lease at most).</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>How many times a task whose process died is run again before it fails.</summary>
    public int RecoveryLimit { get; init; } = 3;

    /// <summary>Whether this manager takes over unclaimed work from the store (off for read-only use and some tests).</summary>
    public bool ClaimStoreWork { get; init; } = true;

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

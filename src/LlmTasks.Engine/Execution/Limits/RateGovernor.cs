using System.Collections.Concurrent;
using LlmTasks.Providers;
using LlmTasks.Storage;

namespace LlmTasks.Execution.Limits;

/// <summary>
/// Paces one store's model calls to the rate limits (<see cref="RateLane"/> per scope): a call of <c>openai/gpt-4o-mini</c>
/// waits for the lane of its model (configured, or learned from the headers) and for that of its provider when one is
/// configured. Limits hold across the processes on the store: each lane paces to its share, the limit divided by the
/// processes that hold unfinished tasks of the scope now (<see cref="ITaskStore.ActiveHolders"/>, read again every
/// <see cref="RateLimitOptions.ShareRefresh"/> off the call path), so four processes on one store together keep to the quota.
/// </summary>
internal sealed class RateGovernor(ITaskStore store, RateLimitOptions options, TimeProvider time)
{
    private readonly ConcurrentDictionary<string, RateLane> _lanes = new(StringComparer.OrdinalIgnoreCase);

    public RateLimitOptions Options => options;

    public string StorePath => store.Path;

    /// <summary>
    /// The lanes a call of <paramref name="model"/> waits for (none when pacing is off). A provider whose answers cannot state
    /// its limits (<paramref name="reportsLimits"/> false: mock models, CLIs) has lanes only for what is configured: with
    /// nothing configured its calls are not paced at all, and cost nothing (no lane, no store read, no probe).
    /// </summary>
    public IReadOnlyList<RateLane> LanesFor(ModelId model, bool reportsLimits = true)
    {
        if (!options.Pacing)
        {
            return [];
        }

        var lanes = new List<RateLane>(2);
        if (reportsLimits || options.For(model.ToString()) is not null)
        {
            lanes.Add(Lane(model.ToString()));
        }

        if (options.For(model.Provider) is not null)
        {
            lanes.Add(Lane(model.Provider));
        }

        return lanes;
    }

    /// <summary>The limits this store's calls learned from the providers' headers, with how many processes share each now.</summary>
    public IEnumerable<RateLimitSetting> Learned() => _lanes.Values
        .Where(l => l.LearnedRequestsPerMinute is not null || l.LearnedTokensPerMinute is not null)
        .Select(l => new RateLimitSetting
        {
            Scope = l.Scope,
            RequestsPerMinute = l.LearnedRequestsPerMinute is { } r ? (int)Math.Min(r, int.MaxValue) : null,
            TokensPerMinute = l.LearnedTokensPerMinute,
            Source = "Headers",
            SharedBy = l.SharedBy,
            StorePath = store.Path,
        });

    /// <summary>The lanes in use, for Get-LlmRateLimit.</summary>
    public IReadOnlyCollection<RateLane> Lanes => _lanes.Values.ToList();

    private RateLane Lane(string scope)
    {
        var lane = _lanes.GetOrAdd(scope, s => new RateLane(s, time));
        Refresh(lane);
        return lane;
    }

    /// <summary>Applies the configured limit at once and the share as last read; reads the share again when it is due.</summary>
    private void Refresh(RateLane lane)
    {
        var configured = options.For(lane.Scope);
        var last = Interlocked.Read(ref lane.SharesReadAt);
        if (last == 0)
        {
            lane.Configure(configured, ReadShare(lane.Scope)); // the first call of a scope reads it before it goes
            Interlocked.Exchange(ref lane.SharesReadAt, time.GetTimestamp());
            return;
        }

        lane.Configure(configured, lane.SharedBy);
        if (time.GetElapsedTime(last) >= options.ShareRefresh && Interlocked.CompareExchange(ref lane.SharesReading, 1, 0) == 0)
        {
            _ = Task.Run(() =>
            {
                try
                {
                    lane.Configure(options.For(lane.Scope), ReadShare(lane.Scope));
                }
                finally
                {
                    Interlocked.Exchange(ref lane.SharesReadAt, time.GetTimestamp());
                    Interlocked.Exchange(ref lane.SharesReading, 0);
                }
            });
        }
    }

    private int ReadShare(string scope)
    {
        try
        {
            return Math.Max(1, store.ActiveHolders(scope));
        }
        catch (Exception e) when (e is LlmTasksException or InvalidOperationException or System.Data.Common.DbException)
        {
            return 1; // the store cannot say now: keep the whole limit rather than stop calling
        }
    }
}

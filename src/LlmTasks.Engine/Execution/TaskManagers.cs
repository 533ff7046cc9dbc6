using LlmTasks.Storage;

namespace LlmTasks.Execution;

/// <summary>
/// The task managers of this process, one per store (a file, a database: by its reference, whatever password it was given with). Every runspace of the process shares
/// them, so the throttle limit is sticky for the session (as ThreadJob's is). Opening one runs
/// nothing (see <see cref="TaskManager"/>). They shut down when the process exits (also on SIGTERM
/// and SIGHUP, see <see cref="ShutdownSignals"/>) or the module is removed, handing unfinished work back to the store.
/// </summary>
public static class TaskManagers
{
    private static readonly object Lock = new();
    private static readonly Dictionary<StoreReference, TaskManager> Managers = [];
    private static int? _concurrency;

    static TaskManagers()
    {
        AppDomain.CurrentDomain.ProcessExit += (_, _) => ShutdownAll();
    }

    private static TaskManagerOptions? _options;

    /// <summary>
    /// Options for managers opened from now on (tests and hosts may change them first). Built from the environment on
    /// first use, so a variable set to something unusable is an error of the cmdlet that first needs a manager.
    /// </summary>
    public static TaskManagerOptions Options
    {
        get => _options ??= new TaskManagerOptions();
        set => _options = value;
    }

    /// <summary>
    /// The manager for a store (explicit path, $env:LLMTASKS_STORE or the default), opened on first use.
    /// Opening it claims nothing: reads, completion and Import-Module never run a store's tasks.
    /// </summary>
    public static TaskManager Get(string? storePath = null) => Get(StoreLocation.Resolve(storePath));

    /// <summary>The manager for the store a reference names, opened on first use (see <see cref="Get(string?)"/>).</summary>
    public static TaskManager Get(StoreReference store)
    {
        ShutdownSignals.Register(ShutdownAll);
        lock (Lock)
        {
            if (!Managers.TryGetValue(store, out var manager))
            {
                var options = _concurrency is { } n ? Options with { Concurrency = n } : Options;
                manager = TaskManager.Open(store, options);
                Managers[store] = manager;
            }

            return manager;
        }
    }

    /// <summary>The session's throttle limit: applies to every open manager and to managers opened later.</summary>
    public static void SetConcurrency(int limit)
    {
        lock (Lock)
        {
            _concurrency = limit;
            foreach (var manager in Managers.Values)
            {
                manager.Concurrency = limit;
            }
        }
    }

    /// <summary>
    /// The rate limits in force in this process: the configured ones (Set-LlmRateLimit, $env:LLMTASKS_RATE_LIMITS), then those
    /// each open store's calls learned from the providers' headers.
    /// </summary>
    public static IReadOnlyList<Limits.RateLimitSetting> RateLimits()
    {
        TaskManager[] open;
        lock (Lock)
        {
            open = [.. Managers.Values];
        }

        return [.. Options.RateLimits.All(), .. open.SelectMany(m => m.Rates.Learned()).OrderBy(s => s.Scope, StringComparer.OrdinalIgnoreCase)];
    }

    public static void ShutdownAll()
    {
        TaskManager[] all;
        lock (Lock)
        {
            all = [.. Managers.Values];
            Managers.Clear();
        }

        foreach (var manager in all)
        {
            manager.Dispose();
        }

        // What the managers did is on record now: send what the exporters still hold before the process ends.
        Diagnostics.TelemetryExport.Shutdown();
    }
}

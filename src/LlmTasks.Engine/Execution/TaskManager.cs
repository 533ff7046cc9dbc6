using System.Collections.Concurrent;
using LlmTasks.Diagnostics;
using LlmTasks.Providers;
using LlmTasks.Storage;

namespace LlmTasks.Execution;

/// <summary>
/// Runs the tasks of one store in this process — only the ones someone here asked for: tasks started
/// or restarted here, tasks a wait here is waiting for that no live process holds (<see cref="Watch"/>),
/// and, while a <see cref="TaskWorker"/> runs, the store's left-over work. Opening a manager runs
/// nothing: reading a store (Get-LlmTask, completion, Import-Module) claims no task and starts no
/// thread. Calls run as async work on provider lanes under a global limit; no thread per task.
/// Results reach the store through one <see cref="StoreWorker"/>.
/// </summary>
public sealed partial class TaskManager : IDisposable
{
    private readonly ITaskStore _store;
    private readonly ProviderRegistry _providers;
    private readonly TaskManagerOptions _options;
    private readonly ConcurrencyGate _global;
    private readonly ConcurrentDictionary<string, ProviderLane> _lanes = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentDictionary<long, ActiveTask> _active = new();
    private readonly ConcurrentDictionary<Task, byte> _runs = new();
    private readonly StoreWorker _worker;
    private readonly CancellationTokenSource _shutdown = new();
    private readonly object _shutdownLock = new();
    private readonly ConcurrentDictionary<WaitClaim, byte> _waits = new();
    private readonly ConcurrentDictionary<TaskWorker, byte> _workers = new();
    private long _lastHeartbeatMs;
    private int _heartbeatNow;
    private int _running;
    private bool _disposed;

    private TaskManager(ITaskStore store, ProviderRegistry providers, TaskManagerOptions options)
    {
        _store = store;
        _providers = providers;
        _options = options;
        _global = new ConcurrencyGate(options.Concurrency);
        Owner = LeaseOwner.ForThisProcess();
        var interval = TimeSpan.FromTicks(Math.Min(options.PollInterval.Ticks, options.HeartbeatInterval.Ticks));
        _worker = new StoreWorker(store, interval, Periodic);
        _worker.Finished += tasks => TasksFinished?.Invoke(tasks);
        _worker.Faulted += e => Faulted?.Invoke(e);
        Faulted += Remember;
        _lastHeartbeatMs = store.NowMs; // every lease written from now on runs a full lease: the first renewal is due a third of one later
        store.Changed += OnStoreChanged;
    }

    /// <summary>
    /// Raised (on a background thread) when the store says tasks finished, in any process: waits look at once instead
    /// of at their next poll. Only stores that can tell (PostgreSQL's notifications) raise it.
    /// </summary>
    internal event Action? FinishedElsewhere;

    /// <summary>What another process did, as the store tells it: work to claim, tasks to stop, results to read.</summary>
    private void OnStoreChanged(StoreChange change)
    {
        switch (change)
        {
            case StoreChange.TasksAdded when !_workers.IsEmpty || !_waits.IsEmpty:
                _worker.Poke(); // claim now, not at the next poll
                break;
            case StoreChange.StopRequested when !_active.IsEmpty:
                Volatile.Write(ref _heartbeatNow, 1); // the renewal says which held tasks were asked to stop
                _worker.Poke();
                break;
            case StoreChange.TasksFinished:
                FinishedElsewhere?.Invoke();
                break;
        }
    }

    /// <summary>Asks the store to say at once when other processes add, finish or stop tasks (where it can; polling stays the fallback).</summary>
    internal void ListenForChanges() => _store.ListenForChanges();

    /// <summary>
    /// Opens the store. Nothing runs until something is started, restarted, waited for or a worker is
    /// started (with <see cref="TaskManagerOptions.ClaimStoreWork"/>, a worker starts at once).
    /// </summary>
    public static TaskManager Open(string storePath, TaskManagerOptions? options = null, ProviderRegistry? providers = null) =>
        Open(StoreLocation.Resolve(storePath), options, providers);

    /// <summary>Opens the store a reference names (a SQLite file, a PostgreSQL database); see <see cref="Open(string, TaskManagerOptions?, ProviderRegistry?)"/>.</summary>
    public static TaskManager Open(StoreReference reference, TaskManagerOptions? options = null, ProviderRegistry? providers = null)
    {
        options ??= new TaskManagerOptions();
        var store = StoreBackends.Default.Open(reference, options.Store);
        var manager = new TaskManager(store, providers ?? ProviderRegistry.CreateDefault(), options);
        Diagnostics.Narration.StoreOpened(store);
        if (options.ClaimStoreWork && !store.IsReadOnly)
        {
            manager.StartWorker();
        }

        return manager;
    }

    /// <summary>This process's identity on leases: host:pid:start:random (see <see cref="LeaseOwner"/>).</summary>
    public string Owner { get; }

    /// <summary>True once this manager runs work (its store worker thread has started).</summary>
    public bool IsRunning => _worker.IsStarted;

    /// <summary>True once the manager has shut down (its work handed back).</summary>
    public bool IsShutDown => _disposed;

    public ITaskStore Store => _store;

    public string StorePath => _store.Path;

    public ProviderRegistry Providers => _providers;

    /// <summary>Calls at once in this process; changing it applies to queued work at once.</summary>
    public int Concurrency
    {
        get => _global.Limit;
        set => _global.SetLimit(value);
    }

    /// <summary>Tasks this process holds and has not started yet.</summary>
    public int QueuedCount => Math.Max(0, _active.Count - Volatile.Read(ref _running));

    public int RunningCount => Volatile.Read(ref _running);

    /// <summary>Raised (on a background thread, after commit) with tasks that reached a terminal state here. Handlers must be quick.</summary>
    public event Action<IReadOnlyList<LlmTask>>? TasksFinished;

    /// <summary>Raised when background store work fails (a locked or full disk, say); the manager keeps going.</summary>
    public event Action<Exception>? Faulted;

    private const int KeptFaults = 20;
    private readonly ConcurrentQueue<string> _faults = new();

    private void Remember(Exception e)
    {
        _faults.Enqueue(e.Message);
        while (_faults.Count > KeptFaults && _faults.TryDequeue(out _))
        {
        }
    }

    /// <summary>
    /// The messages of background failures since the last call (the newest 20), for a cmdlet to show as
    /// warnings: a failed write here would otherwise be silent, its task re-run only after its lease expires.
    /// </summary>
    public IReadOnlyList<string> TakeFaults()
    {
        var taken = new List<string>();
        while (_faults.TryDequeue(out var message))
        {
            taken.Add(message);
        }

        return taken;
    }

    internal bool Holds(long id) => _active.ContainsKey(id);

    internal bool RunsNow(long id) => _active.TryGetValue(id, out var task) && task.Run is not null;

    /// <summary>Starts the store worker thread (writes, heartbeats, claims) the first time work is asked for.</summary>
    private void EnsureRunning()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (!_store.IsReadOnly)
        {
            _worker.Start();
            _store.ListenForChanges();
        }
    }

    /// <summary>
    /// Validates, stores and queues a task in a transaction of its own; returns it as stored (Pending).
    /// <paramref name="secrets"/> stay in this process's memory for the task's calls.
    /// </summary>
    public LlmTask Start(LlmTaskRequest request, TaskSecrets? secrets = null)
    {
        Diagnostics.Secrets.Remember(secrets?.ApiKey);
        var (model, provider) = Prepare(request);
        var task = _store.Insert(request, model.Provider, Owner, LeaseMs);
        Diagnostics.Narration.TaskStored(task);
        Enqueue(new ActiveTask(task, model.Provider, model, provider, null, secrets));
        return task;
    }

    /// <summary>
    /// Validates at once (throwing for bad input), then stores the task with whatever else the store
    /// worker is writing, so many starts share one commit. The returned task completes once the row is
    /// committed and the task queued: only then is it accepted.
    /// </summary>
    public Task<LlmTask> StartAsync(LlmTaskRequest request, TaskSecrets? secrets = null)
    {
        Diagnostics.Secrets.Remember(secrets?.ApiKey);
        var (model, provider) = Prepare(request);
        return InsertAndQueueAsync(request, model, provider, secrets);
    }

    private async Task<LlmTask> InsertAndQueueAsync(LlmTaskRequest request, ModelId model, IChatClientProvider? provider, TaskSecrets? secrets)
    {
        EnsureRunning();
        var task = await _worker.Submit(new InsertTask(request, model.Provider, Owner, LeaseMs)).ConfigureAwait(false)
            ?? throw new InvalidOperationException("The store returned no row for an insert.");
        Diagnostics.Narration.TaskStored(task);
        Enqueue(new ActiveTask(task, model.Provider, model, provider, null, secrets));
        return task;
    }

    private (ModelId Model, IChatClientProvider? Provider) Prepare(LlmTaskRequest request)
    {
        RequestValidator.Validate(request);
        if (request.Verification is { } plan)
        {
            Verification.CheckFactory.Validate(plan, _providers);
        }

        var resolved = request.MockResponse is null
            ? _providers.Resolve(request.Model)
            : (_providers.ParseKnown(request.Model), null); // no call is made, but the model must still name a provider
        if (_store.IsReadOnly)
        {
            throw StoreErrors.ReadOnly(_store.Path, _store.ReadOnlyReason ?? "read-only");
        }

        ObjectDisposedException.ThrowIf(_disposed, this);
        _store.EnsureIntact(); // a damaged store is refused here, before the insert is queued
        return resolved;
    }

    /// <summary>
    /// Stops tasks: Pending ones (held by any process) become Cancelled at once; Running ones are
    /// cancelled here if this process runs them, else flagged for the process that does.
    /// </summary>
    public StopResult Stop(IReadOnlyCollection<long> ids)
    {
        if (ids.Count == 0)
        {
            return new StopResult([], []);
        }

        var (cancelled, flagged) = _store.Stop(ids, "Stopped by Stop-LlmTask before it started.");
        foreach (var id in cancelled.Select(t => t.Id).Concat(flagged))
        {
            // A queued one stays in its lane: it sees its reason when dispatched and writes nothing.
            if (_active.TryGetValue(id, out var held))
            {
                held.Cancel(CancelReason.User);
            }
        }

        var elsewhere = flagged.Where(id => !_active.ContainsKey(id)).ToArray();
        if (elsewhere.Length > 0 && SettleAbandoned(elsewhere) is { Count: > 0 } settled)
        {
            // Held by a process that is gone (or whose lease ran out): nobody would act on the flag, so they end here.
            cancelled = [.. cancelled, .. settled];
            elsewhere = elsewhere.Except(settled.Select(t => t.Id)).ToArray();
        }

        if (cancelled.Count > 0)
        {
            TasksFinished?.Invoke(cancelled);
        }

        return new StopResult(cancelled, elsewhere);
    }

    /// <summary>
    /// Runs Failed, NeedsReview and Cancelled tasks again in this process as a new attempt series
    /// (earlier attempts and check results stay). Returns the tasks restarted (Pending).
    /// <paramref name="change"/> rewrites each task's request first (a new model, timeout, key …): the
    /// changed request is validated as a new one is by <see cref="Start"/> (a bad one throws and nothing
    /// changes) and stored with the task, so every later call, here or in another process, sends it.
    /// <paramref name="secrets"/> stay in this process's memory for the restarted calls.
    /// </summary>
    public IReadOnlyList<LlmTask> Restart(IReadOnlyCollection<long> ids, Func<LlmTaskRequest, LlmTaskRequest>? change = null, TaskSecrets? secrets = null)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_store.IsReadOnly)
        {
            throw StoreErrors.ReadOnly(_store.Path, _store.ReadOnlyReason ?? "read-only");
        }

        Dictionary<long, (LlmTaskRequest Request, string Provider)>? changed = null;
        if (change is not null)
        {
            changed = [];
            foreach (var task in _store.Query(new TaskQuery { Ids = ids }).Where(t => t.State.IsRestartable()))
            {
                var request = change(task.Request);
                var (model, _) = Prepare(request);
                changed[task.Id] = (request, model.Provider);
            }
        }

        var restarted = _store.Restart(ids, Owner, LeaseMs, changed);
        foreach (var task in restarted)
        {
            Enqueue(Route(task, secrets));
        }

        return restarted;
    }

    private void Enqueue(ActiveTask task)
    {
        EnsureRunning();
        _active[task.Id] = task;
        var lane = _lanes.GetOrAdd(task.Lane, name => new ProviderLane(name, ProviderLimit(name, task.Provider), _global, RunTracked, _shutdown.Token));
        lane.Enqueue(task);
    }

    private int? ProviderLimit(string name, IChatClientProvider? provider) =>
        _options.ProviderLimits.TryGetValue(name, out var limit) ? limit : provider?.DefaultConcurrency;

    private Task RunTracked(ActiveTask task, Action release)
    {
        var run = RunAsync(task, release);
        task.Run = run;
        _runs.TryAdd(run, 0);
        _ = run.ContinueWith(t => _runs.TryRemove(t, out _), TaskScheduler.Default);
        return run;
    }

    private async Task RunAsync(ActiveTask task, Action release)
    {
        // The limits count calls, not store writes: the slot is freed as soon as the call returns,
        // so the next call starts while this result is being committed.
        var released = false;
        void Free()
        {
            if (!released)
            {
                released = true;
                release();
            }
        }

        Interlocked.Increment(ref _running);
        try
        {
            // The call starts while its Running mark is being committed (the mark comes first in the
            // store worker's order, so every write for this call lands after it). A task cancelled or
            // taken over while it was queued is, rarely, found only then: the call is cancelled and dropped.
            if (task.Reason != CancelReason.None)
            {
                return; // stopped while queued (the store already says Cancelled), or handed back: no call
            }

            var marking = _worker.Submit(new MarkRunning(task.Id, Owner, LeaseMs));
            var request = task.Task.Request;
            var timeout = RequestValidator.Timeout(request);
            var startedAt = _store.NowMs;
            var callToken = request.Verification is null ? task.BeginRun(_shutdown.Token, timeout) : CancellationToken.None;
            var call = request.Verification is null
                ? ModelCall.RunAsync(task, request, startedAt, _options.Retry, RecordTry, callToken)
                : new TaskRun(task, _providers, _options.Retry, RecordTry, _shutdown.Token, () => _store.NowMs).RunAsync(request, startedAt);
            LlmTask? marked;
            try
            {
                marked = await marking.ConfigureAwait(false);
            }
            catch
            {
                // The store refused the mark: stop the call (its result could not be recorded) before giving up the slot.
                task.Cancel(CancelReason.Shutdown);
                await call.ConfigureAwait(false);
                throw;
            }

            if (marked is null)
            {
                task.Cancel(CancelReason.User);
                var (dropped, _) = await call.ConfigureAwait(false);
                if (dropped.CallMade)
                {
                    // A call was made: keep it on record. The task is not Running here, so this becomes a Discarded attempt.
                    await _worker.Submit(new FinishAttempt(task.Id, Owner, dropped, LlmTaskState.Cancelled)).ConfigureAwait(false);
                }

                ReportIfFinishedElsewhere(task.Id);
                return;
            }

            var (attempt, state) = await call.ConfigureAwait(false);
            Free();
            var written = await _worker.Submit(new FinishAttempt(task.Id, Owner, attempt, state)).ConfigureAwait(false);
            task.Worker?.RunEnded(task.Id, written?.State);
        }
        catch (Exception e)
        {
            // The store refused the write (disk full, locked past the busy timeout …). The task keeps
            // its lease until it expires, then another pass (here or elsewhere) runs it again.
            Faulted?.Invoke(e);
        }
        finally
        {
            task.EndRun();
            _active.TryRemove(KeyValuePair.Create(task.Id, task)); // only this run's entry: a restart may have queued another
            task.Worker?.RunEnded(task.Id, null); // counted once: a worker forgets an id it no longer holds

            Interlocked.Decrement(ref _running);
            Free();
        }
    }

    /// <summary>Keeps a call that failed before a retry as an attempt of its own (the task stays Running).</summary>
    private async Task RecordTry(long taskId, AttemptRecord attempt)
    {
        try
        {
            await _worker.Submit(new RecordAttempt(taskId, Owner, attempt)).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            Faulted?.Invoke(e); // a store that refuses the record must not turn a retryable call into a failed one
        }
    }

    private void ReportIfFinishedElsewhere(long id)
    {
        if (_store.Get(id) is { } task && task.State.IsTerminal())
        {
            TasksFinished?.Invoke([task]);
        }
    }

    /// <summary>
    /// On the store worker thread: renew leases, pass on cancellations, take over work for the waits
    /// and workers of this process. True when a claim filled all the room there was: more work waits,
    /// so run again soon.
    /// </summary>
    private bool Periodic()
    {
        if (_shutdown.IsCancellationRequested || _store.IsReadOnly || _store.IsCorrupt)
        {
            return false; // nothing is written to a damaged store, in the background either
        }

        var now = _store.NowMs;
        var leaseMs = (long)_options.Lease.TotalMilliseconds;
        if (!_active.IsEmpty && (Interlocked.Exchange(ref _heartbeatNow, 0) == 1 || now - _lastHeartbeatMs >= _options.HeartbeatInterval.TotalMilliseconds))
        {
            _lastHeartbeatMs = now;
            var (stopRequested, lost) = _store.RenewLeases(Owner, _active.Keys.ToArray(), leaseMs);
            foreach (var id in stopRequested.Concat(lost))
            {
                if (_active.TryGetValue(id, out var task))
                {
                    task.Cancel(CancelReason.User); // a result for a lost task can only become a Discarded attempt
                }
            }
        }

        var again = false;
        if (!_waits.IsEmpty)
        {
            again |= ClaimForWaits();
        }

        foreach (var worker in _workers.Keys)
        {
            again |= ClaimForWorker(worker);
        }

        return again;
    }

    private ActiveTask Route(LlmTask task, TaskSecrets? secrets = null)
    {
        try
        {
            var request = task.Request;
            if (request.MockResponse is not null)
            {
                var id = ModelId.Parse(request.Model, _providers.Names);
                return new ActiveTask(task, id.Provider, id, null, null, secrets);
            }

            var (model, provider) = _providers.Resolve(request.Model);
            return new ActiveTask(task, model.Provider, model, provider, null, secrets);
        }
        catch (Exception e)
        {
            return new ActiveTask(task, "unroutable", null, null, e);
        }
    }

    /// <summary>
    /// Shuts down: running calls are interrupted and their tasks go back to Pending with an
    /// Interrupted attempt; queued tasks lose their lease. The next process on the store resumes them.
    /// </summary>
    public void Dispose()
    {
        lock (_shutdownLock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
        }

        foreach (var worker in _workers.Keys)
        {
            worker.ManagerShutDown();
        }

        _workers.Clear();
        _waits.Clear();
        foreach (var task in _active.Values)
        {
            task.Cancel(CancelReason.Shutdown);
        }

        _shutdown.Cancel();
        foreach (var lane in _lanes.Values)
        {
            lane.Complete();
        }

        try
        {
            Task.WaitAll(_runs.Keys.ToArray(), TimeSpan.FromSeconds(5));
        }
        catch (AggregateException)
        {
            // Run failures were reported through Faulted already.
        }

        _store.Changed -= OnStoreChanged;
        _worker.Dispose();
        try
        {
            if (!_store.IsReadOnly && !_store.IsCorrupt && _worker.IsStarted)
            {
                var released = _store.Release(Owner);
                if (released > 0)
                {
                    EngineEvents.Verbose($"Handed {released} unfinished task(s) back to the task store '{StorePath}' on shutdown: the next wait or worker on the store runs them.", StorePath);
                }
            }
        }
        catch (LlmTasksException e)
        {
            Faulted?.Invoke(e); // the leases expire on their own
        }

        _store.Dispose();
        _shutdown.Dispose();
    }
}

/// <summary>What Stop did: tasks cancelled at once, and running tasks of other processes that were asked to stop.</summary>
public sealed record StopResult(IReadOnlyList<LlmTask> Cancelled, IReadOnlyList<long> RequestedElsewhere);

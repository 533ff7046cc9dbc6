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

    private readonly TaskOutputs _outputs;
    private readonly Limits.RateGovernor _rates;
    private readonly LlmTasks.Execution.Budgets.BudgetGuard _budgets;

    /// <summary>The rate limits this manager's calls are paced to (Get-LlmRateLimit).</summary>
    internal Limits.RateGovernor Rates => _rates;

    private TaskManager(ITaskStore store, ProviderRegistry providers, TaskManagerOptions options)
    {
        _store = store;
        _providers = providers;
        _options = options;
        _outputs = new TaskOutputs(options.Time, options.PartialOutputInterval, options.PartialOutputChars, SavePartial, piece => OutputArrived?.Invoke(piece));
        _global = new ConcurrencyGate(options.Concurrency);
        _rates = new Limits.RateGovernor(store, options.RateLimits, options.Time);
        _budgets = new LlmTasks.Execution.Budgets.BudgetGuard(store, options.Time);
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
            case StoreChange.StopRequested when !_active.IsEmpty || !_batches.IsEmpty:
                Volatile.Write(ref _heartbeatNow, 1); // the renewal says which held tasks were asked to stop
                WakeBatches();
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
        options = (options ?? new TaskManagerOptions()).WithOneClock();
        options.Retry.Validate();
        options.RateLimits.Validate();
        Diagnostics.TelemetryExport.Start(); // only when $env:OTEL_EXPORTER_OTLP_* asks for it
        return Open(StoreBackends.Default.Open(reference, options.Store), options, providers);
    }

    /// <summary>Runs work on a store already open (the tests' store doubles wrap a real one); the manager owns it from here.</summary>
    internal static TaskManager Open(ITaskStore store, TaskManagerOptions options, ProviderRegistry? providers)
    {
        var manager = new TaskManager(store, providers ?? ProviderRegistry.CreateDefault(), options);
        Diagnostics.EngineTelemetry.Register(manager);
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

    /// <summary>
    /// Raised (on the call's thread) with each piece of a streamed answer of a task running here, as it arrives, and
    /// when an answer starts over (a retry, a re-ask). Handlers must only queue: a cmdlet writes from its own thread.
    /// </summary>
    public event Action<TaskOutputPiece>? OutputArrived;

    /// <summary>The clock of this manager (<see cref="TaskManagerOptions.Time"/>).</summary>
    internal TimeProvider Time => _options.Time;

    /// <summary>The options this manager runs with (one clock: see <see cref="TaskManagerOptions.WithOneClock"/>).</summary>
    internal TaskManagerOptions Options => _options;

    /// <summary>Saves a streamed answer's text so far, with whatever else the store worker writes (a late save changes nothing).</summary>
    private void SavePartial(long taskId, string text)
    {
        if (_disposed)
        {
            return;
        }

        _ = _worker.Submit(new SavePartialOutput(taskId, Owner, text)).ContinueWith(static t => _ = t.Exception, CancellationToken.None,
            TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

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
            _store.ListenForChanges(); // first: the worker's first pass then misses no change made elsewhere meanwhile
            _worker.Start();
        }
    }

    /// <summary>
    /// Validates, stores and queues a task in a transaction of its own; returns it as stored (Pending).
    /// <paramref name="secrets"/> stay in this process's memory for the task's calls.
    /// </summary>
    public LlmTask Start(LlmTaskRequest request, TaskSecrets? secrets = null)
    {
        Diagnostics.Secrets.Remember(secrets?.ApiKey);
        var (whole, model, provider) = Prepare(request);
        var task = _store.Insert(Sign(whole), model.Provider, Owner, LeaseMs);
        Diagnostics.Narration.TaskStored(task);
        Enqueue(new ActiveTask(task, model.Provider, model, provider, null, secrets, _options.Time));
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
        var (whole, model, provider) = Prepare(request);
        return InsertAndQueueAsync(Sign(whole), model, provider, secrets);
    }

    /// <summary>
    /// Signs what this process's caller asks for with the user's key, so that any process of the same user trusts it when it
    /// reads it back (a foreign request stays unsigned). A key file that cannot be used is reported once, as a warning.
    /// </summary>
    private LlmTaskRequest Sign(LlmTaskRequest request)
    {
        var signed = Security.RequestSignature.Sign(request);
        if (Security.SigningKeyring.Process.TakeProblem() is { } problem)
        {
            Faulted?.Invoke(new InvalidOperationException(problem)); // the next cmdlet writes it as a warning
        }

        return signed;
    }

    private async Task<LlmTask> InsertAndQueueAsync(LlmTaskRequest request, ModelId model, IChatClientProvider? provider, TaskSecrets? secrets)
    {
        EnsureRunning();
        var task = await _worker.Submit(new InsertTask(request, model.Provider, Owner, LeaseMs)).ConfigureAwait(false)
            ?? throw new InvalidOperationException("The store returned no row for an insert.");
        Diagnostics.Narration.TaskStored(task);
        Enqueue(new ActiveTask(task, model.Provider, model, provider, null, secrets, _options.Time));
        return task;
    }

    /// <summary>
    /// Checks a new (or changed) request and resolves its model strings whole — the task's and its judges' — so that
    /// what is stored routes the same way in every process that runs it ($env:LLMTASKS_DEFAULT_PROVIDER is read here, never at resume).
    /// </summary>
    private (LlmTaskRequest Request, ModelId Model, IChatClientProvider? Provider) Prepare(LlmTaskRequest request)
    {
        RequestValidator.Validate(request);
        Fallbacks.Validate(request);
        if (request.Fallbacks is { Count: > 0 } fallbacks)
        {
            // Whole, as the task's model: a stored task falls back to the same models in every process.
            request = request with { Fallbacks = [.. fallbacks.Select(f => _providers.Resolve(f.Trim(), isNew: true).Model.ToString())] };
        }

        if (request.Verification is { } plan)
        {
            Verification.CheckFactory.Validate(plan, _providers);
            request = request with { Verification = Verification.CheckFactory.WithWholeModels(plan, _providers) };
        }

        var resolved = request.MockResponse is null
            ? _providers.Resolve(request.Model, isNew: true)
            : (_providers.ParseKnown(request.Model, isNew: true), null); // no call is made, but the model must still name a provider
        if (request.MockResponse is null)
        {
            Limits.ContextWindow.Check(request, resolved.Item1, LlmTasks.Providers.Pricing.ModelCatalog.Current, _providers); // before anything is stored or sent
        }

        if (_store.IsReadOnly)
        {
            throw StoreErrors.ReadOnly(_store.Path, _store.ReadOnlyReason ?? "read-only");
        }

        ObjectDisposedException.ThrowIf(_disposed, this);
        _store.EnsureIntact(); // a damaged store is refused here, before the insert is queued
        ValidateBatch(request, resolved.Item1, resolved.Item2);
        var whole = resolved.Item1.ToString();
        return (request.Model == whole ? request : request with { Model = whole }, resolved.Item1, resolved.Item2);
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

        if (flagged.Count > 0)
        {
            WakeBatches(); // a stopped task of a batch polled here ends now (all of them: the batch is cancelled at the provider)
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

        WaitForStoppedRuns(ids);
        Dictionary<long, (LlmTaskRequest Request, string Provider)>? changed = null;
        if (change is not null)
        {
            changed = [];
            foreach (var task in _store.Query(new TaskQuery { Ids = ids }).Where(t => t.State.IsRestartable()))
            {
                var (request, model, _) = Prepare(change(task.Request));
                changed[task.Id] = (Sign(request), model.Provider); // a changed foreign request stays foreign
            }
        }

        var restarted = _store.Restart(ids, Owner, LeaseMs, changed);
        foreach (var task in restarted)
        {
            Enqueue(Route(task, secrets));
        }

        return restarted;
    }

    /// <summary>
    /// A run of this process that Stop cancelled may still be writing (its Running mark queued, its
    /// Cancelled result not yet committed): restarting under it would let those writes land on the new
    /// series and end it Cancelled. So a restart waits for such runs to finish writing. A stopped task
    /// still queued in its lane needs no wait: when dispatched it sees its reason and writes nothing.
    /// </summary>
    private void WaitForStoppedRuns(IReadOnlyCollection<long> ids)
    {
        var writing = ids
            .Select(id => _active.TryGetValue(id, out var held) ? held : null)
            .Where(held => held is { Reason: not CancelReason.None, Dispatched: true })
            .Select(held => held!.Ended)
            .ToArray();
        if (writing.Length > 0 && !Task.WaitAll(writing, _options.Lease))
        {
            throw new TimeoutException($"A stopped task was still being written after {_options.Lease.TotalSeconds:0} s; try Restart-LlmTask again.");
        }
    }

    private void Enqueue(ActiveTask task)
    {
        EnsureRunning();
        if (task.Task.Request.Batch && task.ResolveError is null && task.Model is { } batchModel && BatchProviderOf(task.Task.Request, task.Provider) is null)
        {
            task = new ActiveTask(task.Task, task.Lane, task.Model, task.Provider, NotBatchable(batchModel), task.Secrets, _options.Time) { Worker = task.Worker };
        }

        _active[task.Id] = task;
        if (TryGather(task))
        {
            return; // sent with others as a provider batch (TaskManager.Batches)
        }

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
        // The limits count calls, not store writes: the slot is freed as soon as the call returns, even
        // while its Running mark is still being committed, so the next call starts while this one's writes
        // are. (Holding the slot until the mark was committed made every call wait a commit: on PostgreSQL
        // a round trip and an fsync, which made a commit's latency, not the calls, the pace of the queue.)
        var released = 0;
        void Free()
        {
            if (Interlocked.Exchange(ref released, 1) == 0)
            {
                release();
            }
        }

        task.MarkDispatched(); // before Reason is read: see WaitForStoppedRuns
        Interlocked.Increment(ref _running);
        System.Diagnostics.Activity? span = null;
        TaskOutput? output = null;
        try
        {
            // The call starts while its Running mark is being committed (the mark comes first in the
            // store worker's order, so every write for this call lands after it). A task cancelled or
            // taken over while it was queued is, rarely, found only then: the call is cancelled and dropped.
            // A slot freed by a call the shutdown cancelled must not start a queued task that Dispose has not marked yet
            // (it marks them one by one, and a cancelled call can free its slot meanwhile): the process is handing its work back.
            if (task.Reason != CancelReason.None || Volatile.Read(ref _disposed))
            {
                return; // stopped while queued (the store already says Cancelled), handed back, or the process is ending: no call
            }

            if (HeldByBudget(task))
            {
                return; // held back by a budget until its period turns (or the cap is raised): not a call, not a failure
            }

            var marking = _worker.Submit(new MarkRunning(task.Id, Owner, LeaseMs));
            var request = task.Task.Request;
            task.Spend = request.MaxCostUsd is { } cap ? new Limits.TaskSpend(cap, task.Task.CostUsd ?? 0) : null;
            var timeout = RequestValidator.Timeout(request);
            var startedAt = _store.NowMs;
            span = Diagnostics.EngineTelemetry.StartTask(task.Task, task.Model);
            output = _options.Streaming ? _outputs.For(task.Id) : null;
            var setup = new ModelCall.Setup(_options.Retry, RecordTry, output, _options.Streaming, _rates, _providers, () => _store.NowMs);
            var callToken = request.Verification is null ? task.BeginRun(_shutdown.Token, timeout) : CancellationToken.None;
            var call = request.Verification is null
                ? ModelCall.RunAsync(task, request, startedAt, setup, callToken)
                : new TaskRun(task, _providers, setup, _shutdown.Token, () => _store.NowMs).RunAsync(request, startedAt, ResumeFor(task.Task));
            _ = call.ContinueWith(static (_, free) => ((Action)free!)(), (Action)Free, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
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
            if (output is not null)
            {
                _outputs.Forget(output); // the answer is written with the result
            }

            var written = await _worker.Submit(new FinishAttempt(task.Id, Owner, attempt, state)).ConfigureAwait(false);
            Diagnostics.EngineTelemetry.Cost(span, attempt.CostUsd);
            Diagnostics.EngineTelemetry.EndTask(span, written, attempt, state);
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
            span?.Dispose();
            if (output is not null)
            {
                _outputs.Forget(output);
            }

            task.EndRun();
            _active.TryRemove(KeyValuePair.Create(task.Id, task)); // only this run's entry: a restart may have queued another
            task.Worker?.RunEnded(task.Id, null); // counted once: a worker forgets an id it no longer holds

            Interlocked.Decrement(ref _running);
            Free();
            task.MarkEnded();
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
        if ((!_active.IsEmpty || !_batches.IsEmpty) && (Interlocked.Exchange(ref _heartbeatNow, 0) == 1 || now - _lastHeartbeatMs >= _options.HeartbeatInterval.TotalMilliseconds))
        {
            _lastHeartbeatMs = now;
            if (!_active.IsEmpty)
            {
                // The entries are taken before the store is read, and only those are cancelled: a task stopped while
                // queued and restarted meanwhile has a new entry (its restart committed after this read began), which
                // the renewal's "lost" (read while it was still Cancelled) must not cancel, or it never runs.
                var held = _active.ToArray();
                var (stopRequested, lost) = _store.RenewLeases(Owner, held.Select(e => e.Key).ToArray(), leaseMs);
                var told = stopRequested.Concat(lost).ToHashSet();
                foreach (var (id, task) in held)
                {
                    if (told.Contains(id))
                    {
                        task.Cancel(CancelReason.User); // a result for a lost task can only become a Discarded attempt
                    }
                }
            }

            if (!_batches.IsEmpty)
            {
                foreach (var id in _store.RenewBatchLeases(Owner, _batches.Keys.ToArray(), leaseMs))
                {
                    if (_batches.TryGetValue(id, out var held))
                    {
                        held.Stop.Cancel(); // another process took it over (or it ended there): stop polling it here
                    }
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

        if (!_workers.IsEmpty && now - _lastBatchLookMs >= _options.PollInterval.TotalMilliseconds)
        {
            // A worker goes on with every batch nobody polls: looked for once a poll interval, not on every pass (a
            // pass runs whenever a worker's tasks end, and a batch's lease runs for many intervals before it can be taken).
            _lastBatchLookMs = now;
            ClaimBatchesFor(null);
        }

        return again;
    }

    private ActiveTask Route(LlmTask task, TaskSecrets? secrets = null)
    {
        try
        {
            // A stored model is whole: it is routed as stored, whatever this process's $env:LLMTASKS_DEFAULT_PROVIDER says.
            var request = task.Request;
            if (request.MockResponse is not null)
            {
                var id = ModelId.Parse(request.Model, _providers.Names);
                return new ActiveTask(task, id.Provider, id, null, null, secrets, _options.Time);
            }

            var (model, provider) = _providers.Resolve(request.Model);
            return new ActiveTask(task, model.Provider, model, provider, null, secrets, _options.Time);
        }
        catch (Exception e)
        {
            return new ActiveTask(task, "unroutable", null, null, e, null, _options.Time);
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
        _outputs.Dispose();
        Diagnostics.EngineTelemetry.Unregister(this);
        try
        {
            if (!_store.IsReadOnly && !_store.IsCorrupt && _worker.IsStarted)
            {
                var batches = _store.ReleaseBatches(Owner);
                if (batches > 0)
                {
                    EngineEvents.Verbose($"Handed {batches} unfinished batch(es) back to the task store '{StorePath}' on shutdown: the next wait for their tasks or worker on the store goes on polling them.", StorePath);
                }

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

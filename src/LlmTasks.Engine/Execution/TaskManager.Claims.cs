using LlmTasks.Diagnostics;
using LlmTasks.Storage;

namespace LlmTasks.Execution;

/// <summary>
/// Who asks this manager to run the store's tasks, and the passes that claim them: waits (the tasks
/// they wait for that no live process holds) and workers (the store's left-over work). The periodic
/// pass on the store worker thread (<see cref="Periodic"/>) calls the claim passes here.
/// </summary>
public sealed partial class TaskManager
{
    /// <summary>
    /// Waits for tasks to finish, wherever they run; see <see cref="TaskWatcher"/>. With
    /// <paramref name="resume"/> (the default) the wait also runs here those of the tasks that no live
    /// process holds — left over by a process that exited, or held by one on this machine that died —
    /// and keeps taking them as long as it waits; tasks a live process holds are left to it.
    /// </summary>
    public TaskWatcher Watch(IEnumerable<long> ids, bool resume = true) => new(this, ids, resume);

    /// <summary>
    /// Starts running the store's left-over work here (Invoke-LlmTaskWorker): unleased Pending tasks,
    /// tasks whose lease expired and tasks of processes on this machine that died, optionally only those
    /// whose name and model match the wildcards. Runs until the worker is stopped; it then hands back
    /// what it holds. Tasks a live process holds are left to it.
    /// </summary>
    public TaskWorker StartWorker(IReadOnlyList<string>? names = null, IReadOnlyList<string>? models = null)
    {
        EnsureRunning();
        if (_store.IsReadOnly)
        {
            throw StoreErrors.ReadOnly(_store.Path, _store.ReadOnlyReason ?? "read-only");
        }

        var worker = new TaskWorker(this, new ClaimScope { Names = names is { Count: > 0 } ? names : null, Models = models is { Count: > 0 } ? models : null });
        _workers.TryAdd(worker, 0);
        EngineEvents.Verbose(() => $"Running the left-over work of the task store '{StorePath}' here as {LeaseOwner.Describe(Owner)}"
            + (worker.Describe() is { Length: > 0 } filter ? $" ({filter})." : "."), StorePath);
        _worker.Poke();
        return worker;
    }

    internal WaitClaim? RegisterWait(IReadOnlyCollection<long> ids)
    {
        if (_store.IsReadOnly || _disposed || ids.Count == 0)
        {
            return null;
        }

        EnsureRunning();
        var claim = new WaitClaim(ids, StorePath);
        _waits.TryAdd(claim, 0);
        _worker.Poke();
        return claim;
    }

    internal void UnregisterWait(WaitClaim claim) => _waits.TryRemove(claim, out _);

    internal void Poke() => _worker.Poke();

    /// <summary>How many more tasks this process takes on now: enough to keep every slot busy, not the whole store.</summary>
    private int Room => Math.Max(2 * _global.Limit, 32) - QueuedCount;

    private long LeaseMs => (long)_options.Lease.TotalMilliseconds;

    /// <summary>What <see cref="TaskStore.Claim"/> takes, as C#: no owner, a lease that ran out (a Pending task without one), or a gone owner.</summary>
    private static bool IsTakeable(LeaseState s, long now, string[] gone) =>
        s.Owner is null || (s.ExpiresMs is { } expires ? expires < now : !s.Running) || gone.Contains(s.Owner);

    /// <summary>Owners among these that ran on this machine and whose process has ended.</summary>
    private string[] GoneOwners(IEnumerable<string?> owners) =>
        owners.OfType<string>().Where(o => o != Owner).Distinct(StringComparer.Ordinal).Where(o => LeaseOwner.Parse(o)?.IsGone() == true).ToArray();

    /// <summary>The tasks waits here are waiting for: those no live process holds are claimed; the others are reported to their waits.</summary>
    private bool ClaimForWaits()
    {
        var wanted = new HashSet<long>();
        foreach (var wait in _waits.Keys)
        {
            foreach (var id in wait.Ids)
            {
                if (!_active.ContainsKey(id))
                {
                    wanted.Add(id);
                }
            }
        }

        var states = _store.LeaseStates(wanted);
        var now = _store.NowMs;
        var gone = GoneOwners(states.Select(s => s.Owner));
        bool Takeable(LeaseState s) => IsTakeable(s, now, gone);
        var heldElsewhere = states.Where(s => !Takeable(s) && s.Owner != Owner).ToArray();
        IReadOnlyDictionary<string, string>? batches = null;
        if (states.Select(s => BatchOwners.BatchOf(s.Owner)).OfType<long>().Distinct().ToArray() is { Length: > 0 } batchIds)
        {
            ClaimBatchesFor(wanted); // tasks in a batch: the batch is what is taken over
            batches = _store.GetBatches(new BatchQuery { Ids = batchIds }).ToDictionary(b => BatchOwners.For(b.Id), b => b.Describe());
        }

        IReadOnlyDictionary<string, string>? budgets = null;
        if (heldElsewhere.Any(s => LlmTasks.Execution.Budgets.BudgetHolds.IsHold(s.Owner)))
        {
            budgets = _budgets.All().ToDictionary(b => b.HoldOwner, b => b.Describe(), StringComparer.Ordinal);
        }

        foreach (var wait in _waits.Keys)
        {
            wait.Observe(heldElsewhere, batches, budgets);
        }

        var takeable = states.Where(Takeable).Select(s => s.Id).ToArray();
        var room = Room;
        if (takeable.Length == 0 || room <= 0)
        {
            return false;
        }

        var claim = _store.Claim(Owner, room, LeaseMs, _options.RecoveryLimit, new ClaimScope { Ids = takeable }, gone);
        Take(claim, null);
        return claim.Claimed.Count >= room;
    }

    /// <summary>A worker's pass: a read of who holds what first, so an idle worker does not take the write lock every poll.</summary>
    private bool ClaimForWorker(TaskWorker worker)
    {
        if (worker.IsStopped)
        {
            return false;
        }

        var holders = _store.LeaseHolders();
        var now = _store.NowMs;
        var gone = GoneOwners(holders.Select(h => h.Owner));
        if (!holders.Any(h => h.Owner is null || h.EarliestExpiryMs is null || h.EarliestExpiryMs < now || gone.Contains(h.Owner)))
        {
            worker.PassEnded(0);
            return false;
        }

        var room = Room;
        if (room <= 0)
        {
            return false;
        }

        ClaimResult claim;
        lock (worker.Gate)
        {
            if (worker.IsStopped)
            {
                return false;
            }

            claim = _store.Claim(Owner, room, LeaseMs, _options.RecoveryLimit, worker.Scope, gone);
            Take(claim, worker);
        }

        worker.PassEnded(claim.Claimed.Count + claim.Ended.Count);
        return claim.Claimed.Count >= room;
    }

    /// <summary>Queues what a claim took (for a worker, or for this process's waits) and reports what it ended.</summary>
    private void Take(ClaimResult claim, TaskWorker? worker)
    {
        // A task this process still holds (its lease lapsed) keeps its one run.
        var fresh = claim.Claimed.Where(t => !_active.ContainsKey(t.Id)).ToList();
        Narrate(claim, fresh.Select(t => t.Id).ToList(), worker); // before they are queued: "Claimed" comes before their calls
        foreach (var task in fresh)
        {
            var active = Route(task, HeldSecrets(task.Id));
            active.Worker = worker;
            worker?.Took(task.Id);
            Enqueue(active);
        }

        worker?.Recovered(claim.Recovered.Count);
        if (claim.Recovered.Any(r => r.Gone))
        {
            CleanUpAfterGoneProcesses();
        }
        if (claim.Ended.Count > 0)
        {
            worker?.EndedByClaim(claim.Ended);
            TasksFinished?.Invoke(claim.Ended);
        }
    }

    /// <summary>Tasks came from a process that is gone: what its calls left behind (a CLI's processes and files) is cleaned up, off this thread.</summary>
    private void CleanUpAfterGoneProcesses()
    {
        foreach (var cleanup in _providers.Cleanups)
        {
            _ = Task.Run(() =>
            {
                try
                {
                    cleanup.CleanUpAfterGoneProcesses();
                }
                catch (Exception e)
                {
                    Faulted?.Invoke(e);
                }
            });
        }
    }

    private void Narrate(ClaimResult claim, IReadOnlyList<long> taken, TaskWorker? worker)
    {
        if (!EngineEvents.Enabled)
        {
            return;
        }

        foreach (var group in claim.Recovered.GroupBy(r => (r.Owner, r.Gone)))
        {
            var ids = TaskIds.Describe(group.Select(r => r.Id));
            EngineEvents.Verbose(group.Key.Gone
                ? $"Took over task(s) {ids} from {LeaseOwner.Describe(group.Key.Owner)}, which is no longer running: their interrupted calls are on record and they run again."
                : $"Took over task(s) {ids}: the lease of {LeaseOwner.Describe(group.Key.Owner)} on them had run out; their interrupted calls are on record and they run again.", StorePath);
        }

        if (taken.Count > 0)
        {
            EngineEvents.Verbose($"Claimed {taken.Count} task(s) to run here ({TaskIds.Describe(taken)}){(worker is null ? " for a wait" : " for the worker")}; lease {_options.Lease.TotalSeconds:0.#} s, renewed while they run.", StorePath);
        }
    }

    /// <summary>
    /// Settles tasks asked to stop whose holder is gone or whose lease ran out: a claim scoped to them
    /// interrupts their call (on record) and ends them Cancelled. Live holders keep theirs (they see the flag).
    /// </summary>
    private IReadOnlyList<LlmTask> SettleAbandoned(IReadOnlyCollection<long> ids)
    {
        if (_store.IsReadOnly || _disposed)
        {
            return [];
        }

        var states = _store.LeaseStates(ids);
        var now = _store.NowMs;
        var gone = GoneOwners(states.Select(s => s.Owner));
        var takeable = states.Where(s => IsTakeable(s, now, gone)).Select(s => s.Id).ToArray();
        if (takeable.Length == 0)
        {
            return [];
        }

        var claim = _store.Claim(Owner, takeable.Length, LeaseMs, _options.RecoveryLimit, new ClaimScope { Ids = takeable }, gone);
        foreach (var task in claim.Claimed.Where(t => !_active.ContainsKey(t.Id)))
        {
            Enqueue(Route(task)); // not asked to stop after all (a race with a restart): it runs
        }

        Narrate(claim, [], null);
        return claim.Ended.Where(t => t.State == LlmTaskState.Cancelled).ToArray();
    }

    /// <summary>
    /// Gives a stopping worker's tasks back to the store: queued ones lose their lease, running calls are
    /// interrupted (recorded as Interrupted attempts; a few seconds at most) and go back to Pending.
    /// Tasks started here or claimed by a wait keep running. Returns how many tasks were handed back.
    /// </summary>
    internal int HandBack(TaskWorker worker, IReadOnlyCollection<long> ids)
    {
        _workers.TryRemove(worker, out _);
        if (ids.Count == 0 || _disposed)
        {
            return 0; // on shutdown, Dispose hands everything back
        }

        var runs = new List<Task>();
        foreach (var id in ids)
        {
            if (_active.TryGetValue(id, out var task) && ReferenceEquals(task.Worker, worker))
            {
                task.Cancel(CancelReason.Shutdown);
                if (task.Run is { } run)
                {
                    runs.Add(run);
                }
            }
        }

        try
        {
            Task.WaitAll(runs.ToArray(), TimeSpan.FromSeconds(5));
        }
        catch (AggregateException)
        {
            // Run failures were reported through Faulted already.
        }

        foreach (var id in ids)
        {
            if (_active.TryGetValue(id, out var task) && ReferenceEquals(task.Worker, worker) && task.Run is null)
            {
                _active.TryRemove(KeyValuePair.Create(id, task)); // queued: no longer held here (its lane skips it)
            }
        }

        try
        {
            _store.Release(Owner, ids);
        }
        catch (LlmTasksException e)
        {
            Faulted?.Invoke(e); // the leases expire on their own
        }

        EngineEvents.Verbose(() => $"The worker handed {ids.Count} task(s) back to the store ({TaskIds.Describe(ids)}): the next wait or worker on the store runs them.", StorePath);
        return ids.Count;
    }
}

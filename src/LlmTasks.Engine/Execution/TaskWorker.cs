using System.Collections.Concurrent;
using LlmTasks.Storage;

namespace LlmTasks.Execution;

/// <summary>
/// A run of the store's left-over work in this process (Invoke-LlmTaskWorker), from
/// <see cref="TaskManager.StartWorker"/> until <see cref="Stop"/>: the manager's periodic pass claims
/// work for it (as much as there is room for), and this keeps count of what became of each task.
/// Stopping hands back what it still holds. Thread-safe: counts change on engine threads, the cmdlet reads them.
/// </summary>
public sealed class TaskWorker : IDisposable
{
    private readonly TaskManager _manager;
    private readonly ConcurrentDictionary<long, byte> _held = new();
    private readonly DateTime _startedAt = DateTime.Now;
    private int _claimed;
    private int _completed;
    private int _failed;
    private int _needsReview;
    private int _cancelled;
    private int _recovered;
    private int _handedBack;
    private volatile bool _stopped;
    private volatile bool _managerShutDown;
    private volatile bool _quiet;
    private LlmTaskWorkerSummary? _summary;

    internal TaskWorker(TaskManager manager, ClaimScope scope)
    {
        _manager = manager;
        Scope = scope;
    }

    internal ClaimScope Scope { get; }

    /// <summary>Held while a claim for this worker is written, so that a stop never misses a task claimed at that moment.</summary>
    internal object Gate { get; } = new();

    public bool IsStopped => _stopped;

    /// <summary>True when the manager shut down under the worker (the module was removed, or the process is ending).</summary>
    public bool ManagerIsShutDown => _managerShutDown;

    /// <summary>
    /// True when the worker holds nothing and its latest pass over the store found nothing it may take:
    /// what is left, if anything, is held by live processes elsewhere.
    /// </summary>
    public bool IsEmpty => _quiet && _held.IsEmpty;

    /// <summary>Tasks it holds now (queued or running here).</summary>
    public int Held => _held.Count;

    /// <summary>Of those, the ones whose call is running.</summary>
    public int Running => _held.Keys.Count(_manager.RunsNow);

    public int Claimed => Volatile.Read(ref _claimed);

    public int Completed => Volatile.Read(ref _completed);

    public int Failed => Volatile.Read(ref _failed);

    public int NeedsReview => Volatile.Read(ref _needsReview);

    public int Cancelled => Volatile.Read(ref _cancelled);

    /// <summary>Tasks it finished, whatever their end.</summary>
    public int Finished => Completed + Failed + NeedsReview + Cancelled;

    public string StorePath => _manager.StorePath;

    /// <summary>Its filters, for messages ("name nightly*, model mock/*"); empty without filters.</summary>
    public string Describe() => string.Join(", ", new[]
    {
        Scope.Names is { Count: > 0 } names ? "name " + string.Join(" or ", names) : null,
        Scope.Models is { Count: > 0 } models ? "model " + string.Join(" or ", models) : null,
    }.Where(p => p is not null));

    internal void Took(long id)
    {
        _held.TryAdd(id, 0);
        Interlocked.Increment(ref _claimed);
        _quiet = false;
    }

    internal void Recovered(int count) => Interlocked.Add(ref _recovered, count);

    /// <summary>A pass over the store ended; <paramref name="taken"/> tasks were claimed or settled for this worker.</summary>
    internal void PassEnded(int taken)
    {
        if (taken == 0 && _held.IsEmpty)
        {
            _quiet = true;
        }
    }

    /// <summary>A run of one of its tasks ended, with the state written (null or unfinished: nothing to count).</summary>
    internal void RunEnded(long id, LlmTaskState? state)
    {
        if (!_held.TryRemove(id, out _))
        {
            return;
        }

        Count(state);
        if (_held.IsEmpty)
        {
            _manager.Poke(); // look for more now, not at the next interval
        }
    }

    internal void EndedByClaim(IReadOnlyList<LlmTask> ended)
    {
        foreach (var task in ended)
        {
            Interlocked.Increment(ref _claimed);
            Count(task.State);
        }
    }

    private void Count(LlmTaskState? state)
    {
        switch (state)
        {
            case LlmTaskState.Completed: Interlocked.Increment(ref _completed); break;
            case LlmTaskState.Failed: Interlocked.Increment(ref _failed); break;
            case LlmTaskState.NeedsReview: Interlocked.Increment(ref _needsReview); break;
            case LlmTaskState.Cancelled: Interlocked.Increment(ref _cancelled); break;
        }
    }

    internal void ManagerShutDown()
    {
        lock (Gate)
        {
            _managerShutDown = true;
            Interlocked.Add(ref _handedBack, _held.Count); // the manager hands everything back itself
            _held.Clear();
            _stopped = true;
        }
    }

    /// <summary>
    /// Stops claiming and hands back what it holds (queued tasks at once, running calls interrupted and
    /// recorded, a few seconds at most); returns what it did. Stopping again returns the same summary.
    /// </summary>
    /// <param name="endReason">QueueEmpty, Stopped or ShutDown (see <see cref="LlmTaskWorkerSummary.EndReason"/>).</param>
    public LlmTaskWorkerSummary Stop(string endReason = "Stopped")
    {
        if (_summary is { } done)
        {
            return done;
        }

        long[] held;
        lock (Gate)
        {
            _stopped = true;
            held = [.. _held.Keys];
        }

        var handedBack = _managerShutDown ? 0 : _manager.HandBack(this, held);
        Interlocked.Add(ref _handedBack, handedBack);
        _held.Clear();
        return _summary = new LlmTaskWorkerSummary
        {
            StorePath = _manager.StorePath,
            Owner = _manager.Owner,
            EndReason = _managerShutDown ? "ShutDown" : endReason,
            StartedAt = _startedAt,
            EndedAt = DateTime.Now,
            Claimed = Claimed,
            Completed = Completed,
            Failed = Failed,
            NeedsReview = NeedsReview,
            Cancelled = Cancelled,
            Recovered = Volatile.Read(ref _recovered),
            HandedBack = Volatile.Read(ref _handedBack),
        };
    }

    public void Dispose() => Stop();
}

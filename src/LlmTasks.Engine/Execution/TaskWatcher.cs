using System.Collections.Concurrent;
using LlmTasks.Storage;

namespace LlmTasks.Execution;

/// <summary>A watched task that finished, or (Task null) that was removed from the store while watched.</summary>
public sealed record WatchEvent(long Id, LlmTask? Task);

/// <summary>
/// Waits for a set of tasks to finish, wherever they run. Tasks this process runs are reported
/// the moment their result is committed; tasks of other processes are found by polling the store's
/// finished-since index, at once when the store tells of finished tasks (PostgreSQL's notifications). A full re-read now and then catches removed tasks and anything missed.
/// A resuming watcher also has the manager run here the tasks no live process holds, for as long
/// as it waits (<see cref="TaskManager.Watch"/>); <see cref="HeldElsewhere"/> says who holds the others.
/// Not thread-safe: one consumer (a cmdlet's pipeline thread) calls <see cref="Next"/>.
/// </summary>
public sealed class TaskWatcher : IDisposable
{
    private static readonly TimeSpan RemotePoll = TimeSpan.FromMilliseconds(200);
    private static readonly TimeSpan FullCheck = TimeSpan.FromSeconds(5);
    private const long WatermarkSlackMs = 2000;

    private readonly TaskManager _manager;
    private readonly HashSet<long> _watched;
    private readonly HashSet<long> _remaining;
    private readonly ConcurrentQueue<WatchEvent> _events = new();
    private readonly SemaphoreSlim _signal = new(0);
    private readonly WaitClaim? _claim;
    private readonly TimeProvider _time;
    private long _watermarkMs;
    private DateTimeOffset _nextPoll;
    private DateTimeOffset _nextFullCheck;

    internal TaskWatcher(TaskManager manager, IEnumerable<long> ids, bool resume = true)
    {
        _manager = manager;
        _time = manager.Time; // the manager's one clock
        _watched = ids.ToHashSet();
        _remaining = [.. _watched];
        _watermarkMs = manager.Store.NowMs - WatermarkSlackMs;
        manager.TasksFinished += OnFinished;
        manager.FinishedElsewhere += OnFinishedElsewhere;
        manager.ListenForChanges();
        FullRecheck();
        if (resume)
        {
            _claim = manager.RegisterWait(_remaining.ToArray());
        }
    }

    public int Remaining => _remaining.Count;

    public IReadOnlyCollection<long> RemainingIds => _remaining;

    /// <summary>Of the remaining tasks, how many this process holds (running or queued here).</summary>
    public int HeldHere => _remaining.Count(_manager.Holds);

    /// <summary>Of the remaining tasks, the ones live processes elsewhere hold: by owner, with the earliest lease end.</summary>
    public IReadOnlyList<LeaseHolding> HeldElsewhere => _claim?.HeldElsewhere ?? [];

    /// <summary>
    /// Blocks until a watched task finishes (returned once each), the timeout passes (null), or the
    /// token is cancelled (OperationCanceledException). With nothing left to wait for it returns null at once.
    /// </summary>
    public WatchEvent? Next(TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = timeout == Timeout.InfiniteTimeSpan ? DateTimeOffset.MaxValue : _time.GetUtcNow() + timeout;
        while (_remaining.Count > 0)
        {
            while (_events.TryDequeue(out var e))
            {
                if (_remaining.Remove(e.Id))
                {
                    _claim?.Remove(e.Id);
                    return e;
                }
            }

            var now = _time.GetUtcNow();
            if (Interlocked.Exchange(ref _pollNow, 0) == 1)
            {
                PollRemote(); // the store said tasks finished somewhere: look now
                continue;
            }

            if (now >= _nextFullCheck)
            {
                FullRecheck();
                continue;
            }

            if (now >= _nextPoll)
            {
                PollRemote();
                continue;
            }

            if (now >= deadline)
            {
                return null;
            }

            var until = Min(deadline, Min(_nextPoll, _nextFullCheck));
            _signal.Wait(until - now, cancellationToken);
        }

        return null;
    }

    private void OnFinished(IReadOnlyList<LlmTask> tasks)
    {
        var any = false;
        foreach (var task in tasks)
        {
            if (_watched.Contains(task.Id))
            {
                _events.Enqueue(new WatchEvent(task.Id, task));
                any = true;
            }
        }

        if (any)
        {
            try
            {
                _signal.Release();
            }
            catch (ObjectDisposedException)
            {
                // This watcher ended while a notification was on its way: nobody is waiting.
            }
        }
    }

    private int _pollNow;

    private void OnFinishedElsewhere()
    {
        Volatile.Write(ref _pollNow, 1);
        try
        {
            _signal.Release();
        }
        catch (ObjectDisposedException)
        {
            // This watcher ended while a notification was on its way: nobody is waiting.
        }
    }

    /// <summary>Finished-since poll, only while some remaining task is not run by this process.</summary>
    private void PollRemote()
    {
        _nextPoll = _time.GetUtcNow() + RemotePoll;
        if (_remaining.All(_manager.Holds))
        {
            return;
        }

        var since = _watermarkMs;
        foreach (var task in _manager.Store.FinishedSince(since))
        {
            if (task.CompletedAt is { } completed)
            {
                _watermarkMs = Math.Max(_watermarkMs, UnixTime.Ms(completed) - WatermarkSlackMs);
            }

            if (_remaining.Contains(task.Id))
            {
                _events.Enqueue(new WatchEvent(task.Id, task));
            }
        }
    }

    /// <summary>Reads every remaining task: finished ones are reported, missing ones as removed.</summary>
    private void FullRecheck()
    {
        _nextFullCheck = _time.GetUtcNow() + FullCheck;
        _nextPoll = _time.GetUtcNow() + RemotePoll;
        if (_remaining.Count == 0)
        {
            return;
        }

        var found = _manager.Store.Query(new TaskQuery { Ids = _remaining.ToArray() }).ToDictionary(t => t.Id);
        foreach (var id in _remaining)
        {
            if (!found.TryGetValue(id, out var task))
            {
                _events.Enqueue(new WatchEvent(id, null));
            }
            else if (task.State.IsTerminal())
            {
                _events.Enqueue(new WatchEvent(id, task));
            }
        }
    }

    private static DateTimeOffset Min(DateTimeOffset a, DateTimeOffset b) => a < b ? a : b;

    public void Dispose()
    {
        if (_claim is not null)
        {
            _manager.UnregisterWait(_claim);
        }

        _manager.TasksFinished -= OnFinished;
        _manager.FinishedElsewhere -= OnFinishedElsewhere;
        _signal.Dispose();
    }
}

using System.Diagnostics;
using System.Management.Automation;
using LlmTasks.Execution;

namespace LlmTasks.PowerShell.Internal;

/// <summary>
/// Waits for tasks of one or more stores on the cmdlet's own pipeline thread and hands them back as
/// Wait-Job and Receive-Job do: in input order, each as soon as it and every task before it has
/// finished; or, asked for, in the order they finish. Progress counts finished tasks, in either order.
/// Ctrl+C stops the wait, never the tasks.
/// </summary>
internal sealed class OrderedWait : IDisposable
{
    private static readonly TimeSpan ProgressEvery = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan Slice = TimeSpan.FromMilliseconds(50);

    /// <summary>How long a -Stream wait waits at most before it writes the text that arrived.</summary>
    private static readonly TimeSpan TextEvery = TimeSpan.FromMilliseconds(50);

    private readonly Commands.LlmTaskCommandBase _cmdlet;
    private readonly IReadOnlyList<Target> _targets;
    private readonly Dictionary<Target, int> _index = [];
    private readonly bool _completionOrder;
    private readonly Dictionary<TaskManager, TaskWatcher> _watchers = [];
    private readonly Dictionary<(TaskManager, long), Finished> _finished = [];
    private readonly HashSet<int> _written = [];
    private readonly ProgressRecord _progress;
    private readonly Stopwatch _sinceProgress = new();
    private readonly LiveText? _text;
    private int _next;
    private bool _progressShown;

    /// <summary>A task to wait for: its store's manager and id.</summary>
    public readonly record struct Target(TaskManager Manager, long Id);

    /// <summary>A task that finished, or (Task null) that was removed from its store while waited for.</summary>
    public sealed record Finished(TaskManager Manager, long Id, LlmTask? Task);

    /// <param name="stream">-Stream: also write each task's text to the host as it arrives (<see cref="LiveText"/>).</param>
    public OrderedWait(Commands.LlmTaskCommandBase cmdlet, IEnumerable<Target> targets, string activity, bool completionOrder, bool stream = false)
    {
        _cmdlet = cmdlet;
        _targets = targets.Distinct().ToList();
        for (var i = 0; i < _targets.Count; i++)
        {
            _index[_targets[i]] = i;
        }

        _completionOrder = completionOrder;
        _progress = new ProgressRecord(0x11A5, activity, "Starting");
        if (stream)
        {
            _text = new LiveText(cmdlet, _targets); // listening before the watchers start the work
        }

        foreach (var group in _targets.GroupBy(t => t.Manager))
        {
            _watchers[group.Key] = group.Key.Watch(group.Select(t => t.Id));
        }
    }

    public int Count => _targets.Count;

    /// <summary>The tasks that had not finished when <see cref="Ready"/> ended (a timeout), in input order.</summary>
    public IReadOnlyList<Target> Unfinished => _targets.Where(t => !_finished.ContainsKey((t.Manager, t.Id))).ToList();

    /// <summary>
    /// Batches of finished tasks to write, in the chosen order, until all have finished or the timeout
    /// passes; then, in input order, whatever finished but still waited behind an unfinished one.
    /// A batch holds everything that finished together, so its checks can be read in one store read.
    /// </summary>
    public IEnumerable<IReadOnlyList<Finished>> Ready(TimeSpan timeout, CancellationToken stopping)
    {
        var deadline = timeout == Timeout.InfiniteTimeSpan ? (DateTime?)null : DateTime.UtcNow + timeout;
        _sinceProgress.Start();
        var arrived = new List<Finished>();
        while (_finished.Count < _targets.Count)
        {
            var left = deadline is { } d ? Max(d - DateTime.UtcNow, TimeSpan.Zero) : ProgressEvery;
            arrived.Clear();
            Take(arrived, Min(left, _text is null ? ProgressEvery : TextEvery), stopping);
            _cmdlet.FlushEngineEvents(); // on every tick: -Verbose shows calls and retries while they happen, before their task is written
            if (_text is not null)
            {
                _text.Pump(Unfinished);
                foreach (var done in arrived.Where(f => f.Task is not null))
                {
                    _text.Finished(done.Manager, done.Task!); // its text ends before the task is written
                }
            }

            ShowProgress(force: arrived.Count == 0 && _text is null);
            var batch = Release(arrived);
            if (batch.Count > 0)
            {
                yield return batch;
            }
            else if (arrived.Count == 0 && left == TimeSpan.Zero)
            {
                break; // timed out, having taken what had already finished (Wait -Timeout 0)
            }
        }

        var rest = _targets.Select((t, i) => (t, i))
            .Where(x => !_written.Contains(x.i) && _finished.ContainsKey((x.t.Manager, x.t.Id)))
            .Select(x => { _written.Add(x.i); return _finished[(x.t.Manager, x.t.Id)]; })
            .ToList();
        if (rest.Count > 0)
        {
            yield return rest;
        }
    }

    /// <summary>Everything that has finished by now, waiting up to <paramref name="wait"/> for the first.</summary>
    private void Take(List<Finished> arrived, TimeSpan wait, CancellationToken stopping)
    {
        try
        {
            foreach (var (manager, watcher) in _watchers)
            {
                Drain(manager, watcher, arrived);
            }

            if (arrived.Count > 0 || wait == TimeSpan.Zero)
            {
                return;
            }

            var waiting = _watchers.Where(w => w.Value.Remaining > 0).ToList();
            if (waiting.Count == 1)
            {
                var (manager, watcher) = waiting[0];
                if (watcher.Next(wait, stopping) is { } first)
                {
                    Add(manager, first, arrived);
                    Drain(manager, watcher, arrived);
                }

                return;
            }

            // Several stores: take turns in short slices until something finishes or the time is up.
            var until = DateTime.UtcNow + wait;
            while (arrived.Count == 0 && DateTime.UtcNow < until)
            {
                foreach (var (manager, watcher) in waiting)
                {
                    if (watcher.Remaining > 0 && watcher.Next(Min(Slice, Max(until - DateTime.UtcNow, TimeSpan.Zero)), stopping) is { } first)
                    {
                        Add(manager, first, arrived);
                        Drain(manager, watcher, arrived);
                    }
                }
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            throw new PipelineStoppedException();
        }
    }

    private void Drain(TaskManager manager, TaskWatcher watcher, List<Finished> arrived)
    {
        while (watcher.Remaining > 0 && watcher.Next(TimeSpan.Zero, CancellationToken.None) is { } e)
        {
            Add(manager, e, arrived);
        }
    }

    private void Add(TaskManager manager, WatchEvent e, List<Finished> arrived)
    {
        var finished = new Finished(manager, e.Id, e.Task);
        if (_finished.TryAdd((manager, e.Id), finished))
        {
            arrived.Add(finished);
        }
    }

    /// <summary>What may be written now: everything that arrived (completion order), or the finished run at the head of the input.</summary>
    private List<Finished> Release(List<Finished> arrived)
    {
        var batch = new List<Finished>();
        if (_completionOrder)
        {
            foreach (var finished in arrived)
            {
                _written.Add(_index[new Target(finished.Manager, finished.Id)]);
                batch.Add(finished);
            }

            return batch;
        }

        while (_next < _targets.Count && _finished.TryGetValue((_targets[_next].Manager, _targets[_next].Id), out var head))
        {
            _written.Add(_next++);
            batch.Add(head);
        }

        return batch;
    }

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

    private void ShowProgress(bool force)
    {
        if (!force && _sinceProgress.Elapsed < ProgressEvery)
        {
            return;
        }

        _sinceProgress.Restart();
        _cmdlet.WriteProgress(Progress(ProgressRecordType.Processing));
        _progressShown = true;
    }

    /// <summary>A record of its own each time: a host may keep the records it was given.</summary>
    private ProgressRecord Progress(ProgressRecordType type)
    {
        var done = _finished.Count;
        var total = _targets.Count;
        return new ProgressRecord(_progress.ActivityId, _progress.Activity, $"{done} of {total} finished")
        {
            PercentComplete = total == 0 ? 100 : (int)(100L * done / total),
            RecordType = type,
            CurrentOperation = type == ProgressRecordType.Processing && done < total ? Whereabouts() : null,
        };
    }

    /// <summary>Where the unfinished tasks are: "3 running or queued here; 5 held by process 1234 on host, lease until 21:08:15".</summary>
    private string? Whereabouts()
    {
        var parts = new List<string>();
        if (_watchers.Values.Sum(w => w.HeldHere) is > 0 and var here)
        {
            parts.Add($"{here} running or queued here");
        }

        var all = _watchers.Values.SelectMany(w => w.HeldElsewhere).ToList();
        parts.AddRange(all.Where(h => h.Batch is not null).Take(2).Select(h => h.ToString())); // "5 in batch_abc: in_progress, 1,200 of 5,000 done"
        var elsewhere = all.Where(h => h.Batch is null).ToList();
        parts.AddRange(elsewhere.Take(2).Select(h => h.ToString()));
        if (elsewhere.Count > 2)
        {
            parts.Add($"{elsewhere.Skip(2).Sum(h => h.Count)} held by {elsewhere.Count - 2} other process(es)");
        }

        return parts.Count == 0 ? null : string.Join("; ", parts);
    }

    public void Dispose()
    {
        // The watchers first: while the pipeline stops (Ctrl+C) WriteProgress throws, and the watchers
        // must not stay subscribed to the session's task managers.
        foreach (var watcher in _watchers.Values)
        {
            watcher.Dispose();
        }

        _text?.Dispose();

        if (_progressShown)
        {
            try
            {
                _cmdlet.WriteProgress(Progress(ProgressRecordType.Completed));
            }
            catch (PipelineStoppedException)
            {
                // Stopping: the host clears progress itself.
            }
        }
    }
}

using System.Diagnostics;
using System.Management.Automation;
using LlmTasks.Execution;

namespace LlmTasks.PowerShell.Internal;

/// <summary>
/// Waits for tasks on the cmdlet's own pipeline thread (so everything it yields can be written
/// safely), showing "n of m finished" progress, and where the rest are: running here, or held by
/// another live process (which one, until when). Tasks no live process holds are run here while it
/// waits (<see cref="TaskManager.Watch"/>). Ctrl+C stops the wait, never the tasks.
/// </summary>
internal sealed class TaskWaiter : IDisposable
{
    private static readonly TimeSpan ProgressEvery = TimeSpan.FromMilliseconds(250);
    private readonly Cmdlet _cmdlet;
    private readonly TaskWatcher _watcher;
    private readonly int _total;
    private readonly ProgressRecord _progress;
    private readonly Stopwatch _sinceProgress = new();
    private bool _progressShown;

    public TaskWaiter(Cmdlet cmdlet, TaskManager manager, IReadOnlyCollection<long> ids, string activity)
    {
        _cmdlet = cmdlet;
        _total = ids.Count;
        _watcher = manager.Watch(ids);
        _progress = new ProgressRecord(0x11A5, activity, "Starting");
    }

    public IReadOnlyCollection<long> Unfinished => _watcher.RemainingIds;

    /// <summary>Finished (or removed) tasks as they happen, until all are done or the timeout passes.</summary>
    public IEnumerable<WatchEvent> Finished(TimeSpan timeout, CancellationToken stopping)
    {
        var deadline = timeout == Timeout.InfiniteTimeSpan ? (DateTime?)null : DateTime.UtcNow + timeout;
        _sinceProgress.Start();
        while (_watcher.Remaining > 0)
        {
            // Even with no time left, take what has already finished before giving up (Wait -Timeout 0).
            var left = deadline is { } d ? Max(d - DateTime.UtcNow, TimeSpan.Zero) : ProgressEvery;
            WatchEvent? next;
            try
            {
                next = _watcher.Next(left < ProgressEvery ? left : ProgressEvery, stopping);
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                throw new PipelineStoppedException();
            }

            (_cmdlet as Commands.LlmTaskCommandBase)?.FlushEngineEvents();
            ShowProgress(force: next is null);
            if (next is not null)
            {
                yield return next;
            }
            else if (left == TimeSpan.Zero)
            {
                yield break;
            }
        }
    }

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

    /// <summary>Where the unfinished tasks are: "3 running or queued here; 5 held by process 1234 on host, lease until 21:08:15".</summary>
    private string? Whereabouts()
    {
        var parts = new List<string>();
        if (_watcher.HeldHere is > 0 and var here)
        {
            parts.Add($"{here} running or queued here");
        }

        var elsewhere = _watcher.HeldElsewhere;
        parts.AddRange(elsewhere.Take(2).Select(h => h.ToString()));
        if (elsewhere.Count > 2)
        {
            parts.Add($"{elsewhere.Skip(2).Sum(h => h.Count)} held by {elsewhere.Count - 2} other process(es)");
        }

        return parts.Count == 0 ? null : string.Join("; ", parts);
    }

    private void ShowProgress(bool force)
    {
        if (!force && _sinceProgress.Elapsed < ProgressEvery)
        {
            return;
        }

        _sinceProgress.Restart();
        var done = _total - _watcher.Remaining;
        _progress.StatusDescription = $"{done} of {_total} finished";
        _progress.CurrentOperation = _watcher.Remaining > 0 ? Whereabouts() : null;
        _progress.PercentComplete = _total == 0 ? 100 : (int)(100L * done / _total);
        _progress.RecordType = ProgressRecordType.Processing;
        _cmdlet.WriteProgress(_progress);
        _progressShown = true;
    }

    public void Dispose()
    {
        // The watcher first: while the pipeline stops (Ctrl+C) WriteProgress throws, and the watcher
        // must not stay subscribed to the session's task manager.
        _watcher.Dispose();
        if (_progressShown)
        {
            _progress.RecordType = ProgressRecordType.Completed;
            try
            {
                _cmdlet.WriteProgress(_progress);
            }
            catch (PipelineStoppedException)
            {
                // Stopping: the host clears progress itself.
            }
        }
    }
}

using System.Diagnostics;
using System.Management.Automation;
using LlmTasks.Execution;
using LlmTasks.PowerShell.Commands;

namespace LlmTasks.PowerShell.Internal;

/// <summary>
/// Waits for tasks on the cmdlet's own pipeline thread (so everything it yields can be written
/// safely), showing "n of m finished" progress and the engine's narration (-Verbose, -Debug) as it
/// comes. Ctrl+C stops the wait, never the tasks.
/// </summary>
internal sealed class TaskWaiter : IDisposable
{
    private static readonly TimeSpan ProgressEvery = TimeSpan.FromMilliseconds(250);
    private readonly LlmTaskCommandBase _cmdlet;
    private readonly TaskWatcher _watcher;
    private readonly int _total;
    private readonly ProgressRecord _progress;
    private readonly Stopwatch _sinceProgress = new();
    private bool _progressShown;

    public TaskWaiter(LlmTaskCommandBase cmdlet, TaskManager manager, IReadOnlyCollection<long> ids, string activity)
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

            ShowProgress(force: next is null);
            _cmdlet.FlushEngineEvents(); // on every tick, so -Verbose shows calls and retries while they happen
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

    private void ShowProgress(bool force)
    {
        if (!force && _sinceProgress.Elapsed < ProgressEvery)
        {
            return;
        }

        _sinceProgress.Restart();
        var done = _total - _watcher.Remaining;
        _progress.StatusDescription = $"{done} of {_total} finished";
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

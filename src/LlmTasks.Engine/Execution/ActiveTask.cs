using LlmTasks.Providers;

namespace LlmTasks.Execution;

internal enum CancelReason
{
    None,
    /// <summary>Stop-LlmTask (here or in another process): the task ends Cancelled.</summary>
    User,
    /// <summary>This process is shutting down: the call is Interrupted and the task goes back to Pending.</summary>
    Shutdown,
}

/// <summary>A task this process holds: queued in a lane, then running. Cancellation can arrive at any point.</summary>
internal sealed class ActiveTask
{
    private readonly object _lock = new();
    private readonly TimeProvider _time;
    private CancellationTokenSource? _cts;
    private ITimer? _timer;

    public ActiveTask(LlmTask task, string lane, ModelId? model, IChatClientProvider? provider, Exception? resolveError, TaskSecrets? secrets = null, TimeProvider? time = null)
    {
        _time = time ?? TimeProvider.System;
        Secrets = secrets;
        Task = task;
        Lane = lane;
        Model = model;
        Provider = provider;
        ResolveError = resolveError;
    }

    public LlmTask Task { get; }
    public long Id => Task.Id;
    public string Lane { get; }
    public ModelId? Model { get; }
    public IChatClientProvider? Provider { get; }
    /// <summary>Why the model string could not be routed (a task stored by another version, say): the run fails with it.</summary>
    public Exception? ResolveError { get; }
    /// <summary>Secrets given when the task was started in this process; never stored.</summary>
    public TaskSecrets? Secrets { get; }
    public CancelReason Reason { get; private set; }
    public bool TimedOut { get; private set; }
    /// <summary>The worker that claimed it (null: started, restarted or claimed for a wait here); it is handed back when that worker stops.</summary>
    public TaskWorker? Worker { get; set; }

    /// <summary>This run's -MaxCostUsd and what the task has cost (null: no cap); set when the run starts.</summary>
    public Limits.TaskSpend? Spend { get; set; }
    /// <summary>Its run, once dispatched from its lane (null while queued).</summary>
    public Task? Run { get; set; }

    private int _dispatched;
    private readonly TaskCompletionSource _ended = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Set first thing when its run starts, before it looks at <see cref="Reason"/>.</summary>
    public bool Dispatched => Volatile.Read(ref _dispatched) == 1;

    /// <summary>Completes when its run has written everything it will write (never, while it stays queued).</summary>
    public Task Ended => _ended.Task;

    public void MarkDispatched() => Interlocked.Exchange(ref _dispatched, 1);

    public void MarkEnded() => _ended.TrySetResult();


    /// <summary>
    /// The token for one call: cancelled by Stop, by shutdown, or by the task's timeout. The timeout is
    /// a timer on the manager's clock (<see cref="TaskManagerOptions.Time"/>) that marks <see cref="TimedOut"/> before it cancels, so whoever sees the cancellation
    /// first (a provider's own callback can run before any of ours) already sees why.
    /// </summary>
    public CancellationToken BeginRun(CancellationToken shutdown, TimeSpan? timeout)
    {
        lock (_lock)
        {
            DisposeRun();
            TimedOut = false;
            var cts = CancellationTokenSource.CreateLinkedTokenSource(shutdown);
            _cts = cts;
            if (timeout is { } t)
            {
                _timer = _time.CreateTimer(_ =>
                {
                    lock (_lock)
                    {
                        if (!ReferenceEquals(_cts, cts))
                        {
                            return; // a later run replaced this one
                        }

                        if (Reason == CancelReason.None && !shutdown.IsCancellationRequested)
                        {
                            TimedOut = true;
                        }
                    }

                    TryCancel(cts);
                }, null, t, Timeout.InfiniteTimeSpan);
            }

            if (Reason != CancelReason.None)
            {
                cts.Cancel();
            }

            return cts.Token;
        }
    }

    public void Cancel(CancelReason reason)
    {
        CancellationTokenSource? cts;
        lock (_lock)
        {
            if (Reason == CancelReason.None)
            {
                Reason = reason;
            }

            cts = _cts;
        }

        // Outside the lock: cancellation runs callbacks inline, and one may end the run.
        TryCancel(cts);
    }

    private static void TryCancel(CancellationTokenSource? cts)
    {
        try
        {
            cts?.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // The run ended meanwhile: nothing left to cancel.
        }
    }

    public void EndRun()
    {
        lock (_lock)
        {
            DisposeRun();
        }
    }

    private void DisposeRun()
    {
        _timer?.Dispose();
        _timer = null;
        _cts?.Dispose();
        _cts = null;
    }
}

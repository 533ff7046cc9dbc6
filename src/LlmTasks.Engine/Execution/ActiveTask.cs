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
    private CancellationTokenSource? _cts;

    public ActiveTask(LlmTask task, string lane, ModelId? model, IChatClientProvider? provider, Exception? resolveError, TaskSecrets? secrets = null)
    {
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

    /// <summary>The token for the call: cancelled by Stop, by shutdown, or by the task's timeout.</summary>
    public CancellationToken BeginRun(CancellationToken shutdown, TimeSpan? timeout)
    {
        lock (_lock)
        {
            _cts = CancellationTokenSource.CreateLinkedTokenSource(shutdown);
            if (timeout is { } t)
            {
                _cts.Token.Register(() => { if (Reason == CancelReason.None && !shutdown.IsCancellationRequested) { TimedOut = true; } });
                _cts.CancelAfter(t);
            }

            if (Reason != CancelReason.None)
            {
                _cts.Cancel();
            }

            return _cts.Token;
        }
    }

    public void Cancel(CancelReason reason)
    {
        lock (_lock)
        {
            if (Reason == CancelReason.None)
            {
                Reason = reason;
            }

            _cts?.Cancel();
        }
    }

    public void EndRun()
    {
        lock (_lock)
        {
            _cts?.Dispose();
            _cts = null;
        }
    }
}

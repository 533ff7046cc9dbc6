namespace LlmTasks.Execution;

/// <summary>
/// An async semaphore whose limit can change while waiters queue (the sticky -ThrottleLimit).
/// Waiters are served first come, first served.
/// </summary>
internal sealed class ConcurrencyGate
{
    private readonly object _lock = new();
    private readonly LinkedList<TaskCompletionSource> _waiters = new();
    private int _limit;
    private int _inUse;

    public ConcurrencyGate(int limit) => _limit = Math.Max(1, limit);

    public int Limit
    {
        get { lock (_lock) { return _limit; } }
    }

    public int InUse
    {
        get { lock (_lock) { return _inUse; } }
    }

    public ValueTask WaitAsync(CancellationToken cancellationToken)
    {
        TaskCompletionSource waiter;
        LinkedListNode<TaskCompletionSource> node;
        lock (_lock)
        {
            if (_inUse < _limit && _waiters.Count == 0)
            {
                _inUse++;
                return ValueTask.CompletedTask;
            }

            cancellationToken.ThrowIfCancellationRequested();
            waiter = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            node = _waiters.AddLast(waiter);
        }

        if (cancellationToken.CanBeCanceled)
        {
            var registration = cancellationToken.Register(() =>
            {
                lock (_lock)
                {
                    if (node.List is null)
                    {
                        return; // already granted
                    }

                    _waiters.Remove(node);
                }

                waiter.TrySetCanceled(cancellationToken);
            });
            _ = waiter.Task.ContinueWith(_ => registration.Dispose(), TaskScheduler.Default);
        }

        return new ValueTask(waiter.Task);
    }

    public void Release()
    {
        lock (_lock)
        {
            _inUse--;
            GrantWhileRoom();
        }
    }

    public void SetLimit(int limit)
    {
        lock (_lock)
        {
            _limit = Math.Max(1, limit);
            GrantWhileRoom();
        }
    }

    private void GrantWhileRoom()
    {
        while (_inUse < _limit && _waiters.First is { } first)
        {
            _waiters.RemoveFirst();
            _inUse++;
            first.Value.TrySetResult();
        }
    }
}

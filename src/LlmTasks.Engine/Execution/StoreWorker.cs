using System.Diagnostics;
using System.Threading.Channels;
using LlmTasks.Storage;

namespace LlmTasks.Execution;

/// <summary>
/// The one thread that writes a manager's results to the store. Writes queue up while a
/// transaction runs and go into the next one together, so a thousand fast completions cost a
/// handful of commits. Between batches it runs the manager's periodic work (claims, heartbeats).
/// A dedicated thread, because store calls block: they never hold a thread-pool thread.
/// </summary>
internal sealed class StoreWorker : IDisposable
{
    private const int MaxBatch = 2048;
    private static readonly TimeSpan AgainSoon = TimeSpan.FromMilliseconds(20);

    private readonly ITaskStore _store;
    private readonly Channel<PendingWrite> _writes = Channel.CreateUnbounded<PendingWrite>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Func<bool> _periodic;
    private readonly TimeSpan _interval;
    private readonly CancellationTokenSource _stop = new();
    private readonly Thread _thread;

    /// <param name="periodic">Runs every <paramref name="interval"/>; returning true asks for the next run almost at once (more work waits).</param>
    public StoreWorker(ITaskStore store, TimeSpan interval, Func<bool> periodic)
    {
        _store = store;
        _interval = interval;
        _periodic = periodic;
        _thread = new Thread(Run) { IsBackground = true, Name = "LlmTasks store worker" };
    }

    /// <summary>Raised on the worker thread, after commit, with the tasks that reached a terminal state.</summary>
    public event Action<IReadOnlyList<LlmTask>>? Finished;

    /// <summary>Raised on the worker thread when periodic work or a batch fails; the worker keeps going.</summary>
    public event Action<Exception>? Faulted;

    private int _started;
    private volatile bool _poked;
    private TaskCompletionSource _poke = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Starts the thread (once; later calls do nothing). Until then nothing is written and no periodic work runs.</summary>
    public void Start()
    {
        if (Interlocked.Exchange(ref _started, 1) == 0)
        {
            _thread.Start();
        }
    }

    public bool IsStarted => Volatile.Read(ref _started) != 0;

    /// <summary>Runs the periodic work as soon as the current batch is written, instead of at the next interval.</summary>
    public void Poke()
    {
        _poked = true;
        Volatile.Read(ref _poke).TrySetResult();
    }

    /// <summary>Queues a write; the task completes with the row as written, or null when the write did not apply.</summary>
    public Task<LlmTask?> Submit(StoreWrite write)
    {
        var pending = new PendingWrite(write);
        if (!_writes.Writer.TryWrite(pending))
        {
            pending.Completion.TrySetException(new ObjectDisposedException(nameof(StoreWorker), "The task manager is shutting down."));
        }

        return pending.Completion.Task;
    }

    private void Run()
    {
        // A monotonic clock: a wall-clock step must not postpone heartbeats.
        var nextTick = Stopwatch.GetTimestamp();
        Task<bool>? readable = null;
        var batch = new List<PendingWrite>(MaxBatch);
        while (true)
        {
            var wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), nextTick);
            if (_poked)
            {
                _poked = false;
                Interlocked.Exchange(ref _poke, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
                wait = TimeSpan.Zero;
            }

            if (wait <= TimeSpan.Zero)
            {
                var again = false;
                Guard(() => again = _periodic());
                var next = again ? AgainSoon : _interval;
                nextTick = Stopwatch.GetTimestamp() + (long)(next.TotalSeconds * Stopwatch.Frequency);
                continue;
            }

            readable ??= _writes.Reader.WaitToReadAsync().AsTask();
            if (!readable.IsCompleted)
            {
                Task.WaitAny([readable, Volatile.Read(ref _poke).Task], wait);
            }

            if (!readable.IsCompleted)
            {
                continue; // the interval passed, or a poke: back to the clock
            }

            var more = readable.Result;
            readable = null;
            // One batch, then back to the clock: under a steady stream of writes the periodic work
            // (lease renewal) still runs on time.
            if (!ApplyOneBatch(batch) && !more)
            {
                return; // completed and drained: everything queued has been written
            }
        }
    }

    /// <summary>Applies up to one batch of queued writes; false when there was nothing to write.</summary>
    private bool ApplyOneBatch(List<PendingWrite> batch)
    {
        batch.Clear();
        while (batch.Count < MaxBatch && _writes.Reader.TryRead(out var item))
        {
            batch.Add(item);
        }

        if (batch.Count == 0)
        {
            return false;
        }

        Apply(batch);
        return true;
    }

    private void Apply(List<PendingWrite> batch)
    {
        LlmTask?[] results;
        try
        {
            results = _store.Apply(batch.Select(p => p.Write).ToArray());
        }
        catch (Exception e)
        {
            foreach (var pending in batch)
            {
                pending.Completion.TrySetException(e);
            }

            Faulted?.Invoke(e);
            return;
        }

        List<LlmTask>? finished = null;
        for (var i = 0; i < batch.Count; i++)
        {
            if (results[i] is { } task && task.State.IsTerminal())
            {
                (finished ??= []).Add(task);
            }
        }

        if (finished is not null)
        {
            Guard(() => Finished?.Invoke(finished));
        }

        for (var i = 0; i < batch.Count; i++)
        {
            batch[i].Completion.TrySetResult(results[i]);
        }
    }

    private void Guard(Action action)
    {
        try
        {
            action();
        }
        catch (Exception e)
        {
            Faulted?.Invoke(e);
        }
    }

    /// <summary>Stops periodic work, writes everything already queued, and ends the thread.</summary>
    public void Dispose()
    {
        if (_writes.Writer.TryComplete() && _thread.IsAlive)
        {
            _thread.Join(TimeSpan.FromSeconds(10));
        }

        _stop.Dispose();
    }

    private sealed record PendingWrite(StoreWrite Write)
    {
        public TaskCompletionSource<LlmTask?> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}

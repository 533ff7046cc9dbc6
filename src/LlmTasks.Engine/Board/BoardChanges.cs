using System.Globalization;
using LlmTasks.Storage;

namespace LlmTasks.Board;

/// <summary>
/// Tells open pages when the store changed. While a page listens, the board reads a stamp every
/// <see cref="BoardOptions.RefreshInterval"/> (the count of tasks in each state and the newest id: two small indexed reads),
/// or at once when the store says it changed (PostgreSQL's notifications); a new stamp wakes every listener.
/// Any process writing to the store is seen, not only this one.
/// </summary>
internal sealed class BoardChanges : IDisposable
{
    private readonly BoardContext _board;
    private readonly CancellationTokenSource _stop = new();
    private readonly SemaphoreSlim _poke = new(0);
    private readonly object _gate = new();
    private TaskCompletionSource<string> _next = NewSignal();
    private int _listeners;
    private Task? _loop;

    public BoardChanges(BoardContext board)
    {
        _board = board;
        Current = Read();
    }

    public string Current { get; private set; }

    public CancellationToken Stopping => _stop.Token;

    /// <summary>Starts the reading loop, and listens to the store's own change notifications where it has them.</summary>
    public void Start()
    {
        _board.Store.Changed += OnStoreChanged;
        _loop = Task.Run(Loop);
    }

    /// <summary>Waits until the stamp differs from <paramref name="seen"/>; returns the new one.</summary>
    public async Task<string> Next(string seen, CancellationToken cancel)
    {
        Interlocked.Increment(ref _listeners);
        try
        {
            while (true)
            {
                Task<string> signal;
                lock (_gate)
                {
                    if (Current != seen)
                    {
                        return Current;
                    }

                    signal = _next.Task;
                }

                await signal.WaitAsync(cancel).ConfigureAwait(false);
            }
        }
        finally
        {
            Interlocked.Decrement(ref _listeners);
        }
    }

    /// <summary>The store's state in one short text: counts by state, and the newest task's id.</summary>
    public string Read()
    {
        var counts = _board.Store.CountByState();
        var newest = _board.Store.Query(new TaskQuery { Sort = TaskSort.Created, Descending = true, Take = 1 });
        return string.Join(',', Enum.GetValues<LlmTaskState>().Select(s => counts.TryGetValue(s, out var n) ? n : 0).Select(n => n.ToString(CultureInfo.InvariantCulture)))
               + ":" + (newest.Count == 0 ? "0" : newest[0].Id.ToString(CultureInfo.InvariantCulture));
    }

    private void OnStoreChanged(StoreChange change) => _poke.Release();

    private async Task Loop()
    {
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                await _poke.WaitAsync(_board.Options.RefreshInterval, _stop.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            if (Volatile.Read(ref _listeners) == 0)
            {
                continue;
            }

            string stamp;
            try
            {
                stamp = Read();
            }
            catch (Exception e) when (e is LlmTasksException or InvalidOperationException)
            {
                continue; // the store is busy or away: the next round reads again
            }

            lock (_gate)
            {
                if (stamp == Current)
                {
                    continue;
                }

                Current = stamp;
                _next.TrySetResult(stamp);
                _next = NewSignal();
            }
        }
    }

    private static TaskCompletionSource<string> NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Dispose()
    {
        _board.Store.Changed -= OnStoreChanged;
        _stop.Cancel();
        try
        {
            _loop?.Wait(TimeSpan.FromSeconds(5));
        }
        catch (AggregateException)
        {
        }

        _stop.Dispose();
        _poke.Dispose();
    }
}

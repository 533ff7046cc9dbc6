using System.Threading.Channels;

namespace LlmTasks.Execution;

/// <summary>
/// The queue of one provider's tasks. Each lane waits for its own provider limit, then the global
/// one, so a saturated provider never holds slots that another provider's tasks could use.
/// </summary>
internal sealed class ProviderLane
{
    private readonly Channel<ActiveTask> _queue = Channel.CreateUnbounded<ActiveTask>(new UnboundedChannelOptions { SingleReader = true });
    private readonly ConcurrencyGate? _providerGate;
    private readonly ConcurrencyGate _globalGate;
    private readonly Func<ActiveTask, Action, Task> _run;
    private readonly Task _loop;

    public ProviderLane(string name, int? providerLimit, ConcurrencyGate globalGate, Func<ActiveTask, Action, Task> run, CancellationToken shutdown)
    {
        Name = name;
        _providerGate = providerLimit is { } n ? new ConcurrencyGate(n) : null;
        _globalGate = globalGate;
        _run = run;
        _loop = Task.Run(() => DispatchAsync(shutdown), CancellationToken.None);
    }

    public string Name { get; }

    public void Enqueue(ActiveTask task) => _queue.Writer.TryWrite(task);

    public void Complete() => _queue.Writer.TryComplete();

    public Task Completion => _loop;

    private async Task DispatchAsync(CancellationToken shutdown)
    {
        try
        {
            await foreach (var task in _queue.Reader.ReadAllAsync(shutdown).ConfigureAwait(false))
            {
                if (_providerGate is not null)
                {
                    await _providerGate.WaitAsync(shutdown).ConfigureAwait(false);
                }

                try
                {
                    await _globalGate.WaitAsync(shutdown).ConfigureAwait(false);
                }
                catch
                {
                    _providerGate?.Release();
                    throw;
                }

                _ = _run(task, Release);
            }
        }
        catch (OperationCanceledException) when (shutdown.IsCancellationRequested)
        {
            // Shutting down: what is still queued is handed back to the store by the manager.
        }
    }

    private void Release()
    {
        _globalGate.Release();
        _providerGate?.Release();
    }
}

namespace LlmTasks.Providers.ClaudeCode;

/// <summary>
/// Starts the CLI's processes from one long-lived thread. On Linux the CLI's wrapper gets a parent-death signal
/// (<see cref="CliProcessTree"/>), and the kernel sends it when the <em>thread</em> that forked it exits, not only the
/// process: a thread-pool thread retires when it idles, which would stop a running CLI for nothing. This thread lives as
/// long as the process (a background thread: it never keeps the process alive), so the signal comes only when the process dies.
/// </summary>
internal static class CliSpawner
{
    private static readonly System.Collections.Concurrent.BlockingCollection<Action> Work = new();
    private static readonly Lazy<Thread> Thread = new(() =>
    {
        var thread = new Thread(() =>
        {
            foreach (var start in Work.GetConsumingEnumerable())
            {
                start();
            }
        })
        {
            IsBackground = true,
            Name = "LlmTasks CLI spawner",
        };
        thread.Start();
        return thread;
    });

    /// <summary>Runs <paramref name="start"/> (which starts a process and returns at once) on the spawner thread.</summary>
    public static Task<T> RunAsync<T>(Func<T> start)
    {
        _ = Thread.Value;
        var result = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        Work.Add(() =>
        {
            try
            {
                result.SetResult(start());
            }
            catch (Exception e)
            {
                result.SetException(e);
            }
        });
        return result.Task;
    }
}

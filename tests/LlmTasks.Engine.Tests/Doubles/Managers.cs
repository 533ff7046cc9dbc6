using LlmTasks.Execution;
using LlmTasks.Providers;
using LlmTasks.Providers.Mock;

namespace LlmTasks.Tests.Doubles;

internal static class Managers
{
    public static TaskManager Open(string path, params IChatClientProvider[] extra) => Open(path, new TaskManagerOptions(), extra);

    public static TaskManager Open(string path, TaskManagerOptions options, params IChatClientProvider[] extra) =>
        TaskManager.Open(path, options with { PollInterval = TimeSpan.FromMilliseconds(50) }, new ProviderRegistry([new MockProvider(), .. extra]));

    public static LlmTaskRequest Request(string prompt, string model = "mock/echo", string? name = null) => new()
    {
        Model = model,
        Messages = [new LlmMessage(LlmRole.User, prompt)],
        Name = name,
    };

    /// <summary>Waits for tasks through the same watcher the cmdlets use; fails the test after a generous bound.</summary>
    public static List<LlmTask> WaitAll(TaskManager manager, IEnumerable<long> ids, int seconds = 60)
    {
        var list = ids.ToList();
        using var watcher = manager.Watch(list);
        var done = new List<LlmTask>();
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (watcher.Remaining > 0)
        {
            var left = deadline - DateTime.UtcNow;
            Assert.True(left > TimeSpan.Zero, $"{watcher.Remaining} of {list.Count} tasks did not finish within {seconds} s");
            if (watcher.Next(left, CancellationToken.None) is { Task: { } task })
            {
                done.Add(task);
            }
        }

        return done;
    }
}

using System.Management.Automation;
using LlmTasks.Execution;
using LlmTasks.Verification;

namespace LlmTasks.PowerShell.Internal;

/// <summary>
/// Task objects as every cmdlet writes them: with the results of their latest verified attempt in
/// <see cref="LlmTask.Checks"/> (and so FailedChecks), read for a whole batch in one store read per store.
/// </summary>
internal static class TaskObjects
{
    private static readonly LlmCheckResult[] None = [];

    public static IReadOnlyList<PSObject> WithChecks(TaskManager manager, IReadOnlyList<LlmTask> tasks) =>
        WithChecks(tasks.Select(t => (manager, t)).ToList());

    /// <summary>The tasks, in the order given, each wrapped with its checks.</summary>
    public static IReadOnlyList<PSObject> WithChecks(IReadOnlyList<(TaskManager Manager, LlmTask Task)> tasks)
    {
        var checks = new Dictionary<(TaskManager, long), IReadOnlyList<LlmCheckResult>>();
        foreach (var group in tasks.GroupBy(t => t.Manager))
        {
            var ids = group.Select(t => t.Task.Id).Distinct().ToArray();
            foreach (var (id, results) in group.Key.Store.GetChecks(ids))
            {
                checks[(group.Key, id)] = results;
            }
        }

        var written = new List<PSObject>(tasks.Count);
        foreach (var (manager, task) in tasks)
        {
            var latest = checks.TryGetValue((manager, task.Id), out var all) && all.Count > 0 ? Latest(all) : None;
            // Checks is a property of the task itself (not a note property per object, which cost each written task a member
            // collection of its own): a task without checks is written as read.
            written.Add(PSObject.AsPSObject(latest.Length == 0 && task.Checks.Count == 0 ? task : task with { Checks = latest }));
        }

        return written;
    }

    private static LlmCheckResult[] Latest(IReadOnlyList<LlmCheckResult> all)
    {
        var attempt = all.Max(c => c.Attempt);
        return all.Where(c => c.Attempt == attempt).ToArray();
    }
}

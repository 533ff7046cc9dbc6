using System.Management.Automation;
using LlmTasks.PowerShell.Internal;

namespace LlmTasks.PowerShell.Commands;

/// <summary>
/// Waits until tasks reach a terminal state and writes each one as it does. On timeout it writes
/// the finished ones and one LlmTaskWaitTimeout error naming the rest. Ctrl+C stops the wait only.
/// </summary>
[Cmdlet(VerbsLifecycle.Wait, "LlmTask", DefaultParameterSetName = IdSet)]
[OutputType(typeof(LlmTask))]
public sealed class WaitLlmTaskCommand : TaskSelectionCommandBase
{
    private readonly List<(Execution.TaskManager Manager, LlmTask Task)> _targets = [];
    private readonly List<LlmTask> _piped = [];

    /// <summary>Return when any one task finishes.</summary>
    [Parameter]
    public SwitchParameter Any { get; set; }

    /// <summary>Seconds to wait; -1 (the default) waits forever.</summary>
    [Parameter]
    [Alias("TimeoutSec")]
    [ValidateRange(-1, int.MaxValue)]
    public int Timeout { get; set; } = -1;

    protected override void ProcessRecord()
    {
        if (ParameterSetName == InputObjectSet)
        {
            // Read piped tasks in one query per store at the end, not one query per object.
            _piped.AddRange(InputObject);
            return;
        }

        foreach (var (manager, tasks) in SelectTasks())
        {
            _targets.AddRange(tasks.Select(t => (manager, t)));
        }

        FlushEngineEvents();
    }

    protected override void EndProcessing()
    {
        foreach (var (manager, tasks) in SelectTasks(_piped))
        {
            _targets.AddRange(tasks.Select(t => (manager, t)));
        }

        var deadline = Timeout < 0 ? DateTime.MaxValue : DateTime.UtcNow.AddSeconds(Timeout);
        var unfinished = new List<LlmTask>();
        foreach (var group in _targets.DistinctBy(t => (t.Manager.StorePath, t.Task.Id)).GroupBy(t => t.Manager))
        {
            var tasks = group.Select(t => t.Task).ToList();
            var left = deadline == DateTime.MaxValue ? global::System.Threading.Timeout.InfiniteTimeSpan : Max(deadline - DateTime.UtcNow, TimeSpan.Zero);
            using var waiter = new TaskWaiter(this, group.Key, tasks.Select(t => t.Id).ToArray(), "Waiting for LLM tasks");
            foreach (var e in waiter.Finished(left, PipelineStopping))
            {
                if (e.Task is null)
                {
                    WriteError(ErrorRecords.Create(ErrorRecords.Removed, ErrorCategory.ObjectNotFound,
                        $"Task {e.Id} was removed from the store while waiting for it.", e.Id));
                    continue;
                }

                WriteObject(e.Task);
                if (Any)
                {
                    return;
                }
            }

            if (waiter.Unfinished.Count > 0)
            {
                unfinished.AddRange(group.Key.Store.Query(new Storage.TaskQuery { Ids = waiter.Unfinished.ToArray() }));
            }
        }

        FlushEngineEvents();
        if (unfinished.Count > 0)
        {
            var names = string.Join(", ", unfinished.Select(ErrorRecords.Describe));
            WriteError(ErrorRecords.Create(ErrorRecords.WaitTimeout, ErrorCategory.OperationTimeout,
                $"Timed out after {Timeout} s waiting for {unfinished.Count} task(s): {names}.", unfinished.ToArray(),
                "Wait again, or raise -Timeout. The tasks keep running."));
        }
    }

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;
}

using System.Management.Automation;
using LlmTasks.PowerShell.Internal;

namespace LlmTasks.PowerShell.Commands;

/// <summary>
/// Waits until tasks reach a terminal state and writes them in input order, as Wait-Job does: each as
/// soon as it and every task before it has finished. -InCompletionOrder writes each as it finishes,
/// -Any only the first. On timeout it writes the finished ones and one LlmTaskWaitTimeout error naming
/// the rest. Ctrl+C stops the wait only.
/// </summary>
[Cmdlet(VerbsLifecycle.Wait, "LlmTask", DefaultParameterSetName = IdSet)]
[OutputType(typeof(LlmTask))]
public sealed class WaitLlmTaskCommand : TaskSelectionCommandBase
{
    private readonly List<OrderedWait.Target> _targets = [];
    private readonly List<TaskReference> _piped = [];

    /// <summary>Return when any one task finishes.</summary>
    [Parameter]
    public SwitchParameter Any { get; set; }

    /// <summary>Write each task as it finishes instead of in input order.</summary>
    [Parameter]
    public SwitchParameter InCompletionOrder { get; set; }

    /// <summary>Write each task's text to the host as it arrives (the information stream), while waiting.</summary>
    [Parameter]
    public SwitchParameter Stream { get; set; }

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
            _piped.AddRange(ReadReferences(InputObject));
            return;
        }

        foreach (var (manager, tasks) in SelectTasks())
        {
            _targets.AddRange(tasks.Select(t => new OrderedWait.Target(manager, t.Id)));
        }

        FlushEngineEvents();
    }

    protected override void EndProcessing()
    {
        foreach (var (manager, tasks) in SelectTasks(_piped))
        {
            _targets.AddRange(tasks.Select(t => new OrderedWait.Target(manager, t.Id)));
        }

        var timeout = Timeout < 0 ? global::System.Threading.Timeout.InfiniteTimeSpan : TimeSpan.FromSeconds(Timeout);
        using var wait = new OrderedWait(this, _targets, "Waiting for LLM tasks", completionOrder: InCompletionOrder || Any, stream: Stream);
        foreach (var batch in wait.Ready(timeout, PipelineStopping))
        {
            var finished = new List<(Execution.TaskManager, LlmTask)>();
            foreach (var done in batch)
            {
                if (done.Task is null)
                {
                    WriteError(ErrorRecords.Create(ErrorRecords.Removed, ErrorCategory.ObjectNotFound,
                        $"Task {done.Id} was removed from the store while waiting for it.", done.Id));
                    continue;
                }

                finished.Add((done.Manager, done.Task));
                if (Any)
                {
                    break;
                }
            }

            WriteObject(TaskObjects.WithChecks(finished), enumerateCollection: true);
            if (Any && finished.Count > 0)
            {
                return;
            }
        }

        FlushEngineEvents();
        var unfinished = wait.Unfinished.GroupBy(t => t.Manager)
            .SelectMany(g => g.Key.Store.Query(new Storage.TaskQuery { Ids = g.Select(t => t.Id).ToArray() }))
            .ToList();
        if (unfinished.Count > 0)
        {
            var names = string.Join(", ", unfinished.Select(ErrorRecords.Describe));
            WriteError(ErrorRecords.Create(ErrorRecords.WaitTimeout, ErrorCategory.OperationTimeout,
                $"Timed out after {Timeout} s waiting for {unfinished.Count} task(s): {names}.", unfinished.ToArray(),
                "Wait again, or raise -Timeout. The tasks keep running."));
        }
    }
}

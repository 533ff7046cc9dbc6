using System.Management.Automation;
using LlmTasks.PowerShell.Internal;

namespace LlmTasks.PowerShell.Commands;

/// <summary>
/// Writes the results of finished tasks in input order, as Receive-Job does: the output text, or the
/// parsed object when the task asked for JSON (each with a TaskId note property). A task that did not
/// complete writes a non-terminating error carrying the task's error instead. With -Wait each result
/// is written as soon as its task and every task before it has finished (-InCompletionOrder: as each
/// finishes). Results stay in the store; receiving them again gives them again.
/// </summary>
[Cmdlet(VerbsCommunications.Receive, "LlmTask", DefaultParameterSetName = IdSet)]
[OutputType(typeof(string), typeof(PSObject))]
public sealed class ReceiveLlmTaskCommand : TaskSelectionCommandBase
{
    // -Wait: the tasks in input order that have not been written yet; the first one is unfinished.
    private readonly List<(Execution.TaskManager Manager, LlmTask Task)> _held = [];

    /// <summary>Wait for unfinished tasks, then write their results as they finish.</summary>
    [Parameter]
    public SwitchParameter Wait { get; set; }

    /// <summary>With -Wait: write each result as its task finishes instead of in input order.</summary>
    [Parameter]
    public SwitchParameter InCompletionOrder { get; set; }

    /// <summary>Wait (as -Wait does), writing each task's text to the host as it arrives; the results are written as without it.</summary>
    [Parameter]
    public SwitchParameter Stream { get; set; }

    private bool Waits => Wait || Stream;

    protected override void ProcessRecord()
    {
        foreach (var (manager, tasks) in SelectTasks())
        {
            foreach (var task in tasks)
            {
                if (!task.State.IsTerminal() && !Waits)
                {
                    WriteError(ErrorRecords.Create(ErrorRecords.NotFinished, ErrorCategory.ResourceUnavailable,
                        $"Task {ErrorRecords.Describe(task)} has not finished yet.", task,
                        "Use Receive-LlmTask -Wait, or Wait-LlmTask first."));
                }
                else if (task.State.IsTerminal() && (_held.Count == 0 || InCompletionOrder))
                {
                    WriteResult(task); // nothing before it is still waited for
                }
                else
                {
                    _held.Add((manager, task));
                }
            }
        }

        FlushEngineEvents();
    }

    protected override void EndProcessing()
    {
        if (_held.Count == 0)
        {
            return;
        }

        using var wait = new OrderedWait(this, _held.Select(h => new OrderedWait.Target(h.Manager, h.Task.Id)), "Waiting for LLM task results", InCompletionOrder, stream: Stream);
        foreach (var batch in wait.Ready(Timeout.InfiniteTimeSpan, PipelineStopping))
        {
            foreach (var done in batch)
            {
                if (done.Task is null)
                {
                    WriteError(ErrorRecords.Create(ErrorRecords.Removed, ErrorCategory.ObjectNotFound,
                        $"Task {done.Id} was removed from the store while waiting for it.", done.Id));
                }
                else
                {
                    WriteResult(done.Task);
                }
            }
        }

        FlushEngineEvents();
    }

    private void WriteResult(LlmTask task)
    {
        if (task.State != LlmTaskState.Completed)
        {
            WriteError(ErrorRecords.Unsuccessful(task));
            return;
        }

        var output = task.StructuredOutput is { } json
            ? PSObject.AsPSObject(PowerShellJson.ToPowerShell(json) ?? string.Empty)
            : new PSObject(task.Output ?? string.Empty);
        // PowerShell keeps note properties per base object, and an empty output is the one shared empty
        // string: replace the property rather than add a second one.
        output.Properties.Remove("TaskId");
        output.Properties.Add(new PSNoteProperty("TaskId", task.Id));
        WriteObject(output);
    }
}

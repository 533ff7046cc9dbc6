using System.Management.Automation;
using LlmTasks.PowerShell.Internal;

namespace LlmTasks.PowerShell.Commands;

/// <summary>
/// Writes the results of finished tasks: the output text, or the parsed object when the task asked
/// for JSON (each with a TaskId note property). A task that
/// did not complete writes a non-terminating error carrying the task's error instead.
/// Results stay in the store; receiving them again gives them again.
/// </summary>
[Cmdlet(VerbsCommunications.Receive, "LlmTask", DefaultParameterSetName = IdSet)]
[OutputType(typeof(string), typeof(PSObject))]
public sealed class ReceiveLlmTaskCommand : TaskSelectionCommandBase
{
    private readonly List<(Execution.TaskManager Manager, LlmTask Task)> _pending = [];

    /// <summary>Wait for unfinished tasks, then write their results as they finish.</summary>
    [Parameter]
    public SwitchParameter Wait { get; set; }

    protected override void ProcessRecord()
    {
        foreach (var (manager, tasks) in SelectTasks())
        {
            foreach (var task in tasks)
            {
                if (task.State.IsTerminal())
                {
                    WriteResult(task);
                }
                else if (Wait)
                {
                    _pending.Add((manager, task));
                }
                else
                {
                    WriteError(ErrorRecords.Create(ErrorRecords.NotFinished, ErrorCategory.ResourceUnavailable,
                        $"Task {ErrorRecords.Describe(task)} has not finished yet.", task,
                        "Use Receive-LlmTask -Wait, or Wait-LlmTask first."));
                }
            }
        }

        FlushEngineEvents();
    }

    protected override void EndProcessing()
    {
        foreach (var group in _pending.GroupBy(p => p.Manager))
        {
            using var waiter = new TaskWaiter(this, group.Key, group.Select(p => p.Task.Id).Distinct().ToArray(), "Waiting for LLM task results");
            foreach (var e in waiter.Finished(Timeout.InfiniteTimeSpan, PipelineStopping))
            {
                if (e.Task is null)
                {
                    WriteError(ErrorRecords.Create(ErrorRecords.Removed, ErrorCategory.ObjectNotFound,
                        $"Task {e.Id} was removed from the store while waiting for it.", e.Id));
                }
                else
                {
                    WriteResult(e.Task);
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

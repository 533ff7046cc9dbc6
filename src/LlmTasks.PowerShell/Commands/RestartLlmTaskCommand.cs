using System.Management.Automation;
using LlmTasks.PowerShell.Internal;

namespace LlmTasks.PowerShell.Commands;

/// <summary>
/// Runs Failed, NeedsReview and Cancelled tasks again, in this session, as a new attempt series
/// (the same request and verification spec; earlier attempts and check results stay in the store).
/// Writes the restarted tasks (Pending); -Wait writes them finished.
/// </summary>
[Cmdlet(VerbsLifecycle.Restart, "LlmTask", DefaultParameterSetName = IdSet, SupportsShouldProcess = true)]
[OutputType(typeof(LlmTask))]
public sealed class RestartLlmTaskCommand : TaskSelectionCommandBase
{
    private readonly List<(Execution.TaskManager Manager, LlmTask Task)> _restarted = [];

    /// <summary>Wait for the restarted tasks and write them finished.</summary>
    [Parameter]
    public SwitchParameter Wait { get; set; }

    protected override void ProcessRecord()
    {
        foreach (var (manager, tasks) in SelectTasks())
        {
            var ids = new List<long>();
            foreach (var task in tasks)
            {
                if (task.State is not (LlmTaskState.Failed or LlmTaskState.NeedsReview or LlmTaskState.Cancelled))
                {
                    WriteError(ErrorRecords.Create(ErrorRecords.NotRestartable, ErrorCategory.InvalidOperation,
                        $"Task {ErrorRecords.Describe(task)} cannot be restarted; only Failed, NeedsReview and Cancelled tasks can.", task));
                }
                else if (ShouldProcess(ErrorRecords.Describe(task), "Restart"))
                {
                    ids.Add(task.Id);
                }
            }

            if (ids.Count == 0)
            {
                continue;
            }

            try
            {
                foreach (var task in manager.Restart(ids))
                {
                    if (Wait)
                    {
                        _restarted.Add((manager, task));
                    }
                    else
                    {
                        WriteObject(task);
                    }
                }
            }
            catch (LlmTasksException e)
            {
                WriteError(e);
            }
        }

        FlushEngineEvents();
    }

    protected override void EndProcessing()
    {
        foreach (var group in _restarted.GroupBy(r => r.Manager))
        {
            using var waiter = new TaskWaiter(this, group.Key, group.Select(r => r.Task.Id).ToArray(), "Waiting for restarted LLM tasks");
            foreach (var e in waiter.Finished(Timeout.InfiniteTimeSpan, PipelineStopping))
            {
                if (e.Task is not null)
                {
                    WriteObject(e.Task);
                }
            }
        }

        FlushEngineEvents();
    }
}

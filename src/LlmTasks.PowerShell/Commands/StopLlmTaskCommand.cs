using System.Management.Automation;
using LlmTasks.PowerShell.Internal;
using LlmTasks.Execution;
using LlmTasks.Storage;

namespace LlmTasks.PowerShell.Commands;

/// <summary>
/// Cancels Pending and Running tasks. Pending tasks are Cancelled at once; a running call in this
/// session is cancelled and waited for (a few seconds at most); a call running in another process
/// is flagged and stops at that process's next heartbeat.
/// </summary>
[Cmdlet(VerbsLifecycle.Stop, "LlmTask", DefaultParameterSetName = IdSet, SupportsShouldProcess = true)]
[OutputType(typeof(LlmTask))]
public sealed class StopLlmTaskCommand : TaskSelectionCommandBase
{
    private static readonly TimeSpan LocalStopWait = TimeSpan.FromSeconds(10);

    /// <summary>Piped objects with only an Id are refused: see <see cref="TaskSelectionCommandBase.ChangesTasks"/>.</summary>
    protected override bool ChangesTasks => true;

    /// <summary>Write the tasks after stopping them.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        foreach (var (manager, tasks) in SelectTasks())
        {
            var targets = tasks.Where(t => !t.State.IsTerminal() && ShouldProcess($"Task {ErrorRecords.Describe(t)}", "Stop")).ToList();
            if (targets.Count == 0)
            {
                if (PassThru)
                {
                    WriteObject(TaskObjects.WithChecks(manager, tasks.Where(t => t.State.IsTerminal()).ToList()), enumerateCollection: true);
                }

                continue;
            }

            StopResult result;
            try
            {
                result = manager.Stop(targets.Select(t => t.Id).ToArray());
            }
            catch (LlmTasksException e)
            {
                WriteError(e);
                continue;
            }

            // Calls this session runs stop quickly: wait for them so the state written is final.
            var local = targets.Select(t => t.Id).Except(result.Cancelled.Select(t => t.Id)).Except(result.RequestedElsewhere).ToArray();
            if (local.Length > 0)
            {
                using var wait = new OrderedWait(this, local.Select(id => new OrderedWait.Target(manager, id)), "Stopping LLM tasks", completionOrder: true);
                foreach (var _ in wait.Ready(LocalStopWait, PipelineStopping))
                {
                }
            }

            if (PassThru)
            {
                WriteObject(TaskObjects.WithChecks(manager, manager.Store.Query(new TaskQuery { Ids = tasks.Select(t => t.Id).ToArray() })), enumerateCollection: true);
            }
        }

        FlushEngineEvents();
    }
}

using System.Management.Automation;
using LlmTasks.PowerShell.Internal;
using LlmTasks.Storage;

namespace LlmTasks.PowerShell.Commands;

/// <summary>
/// Deletes tasks and their attempts from the store. Pending and Running tasks need -Force, which
/// stops them first. -State and -OlderThan select tasks for retention clean-up.
/// </summary>
[Cmdlet(VerbsCommon.Remove, "LlmTask", DefaultParameterSetName = IdSet, SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(void))]
public sealed class RemoveLlmTaskCommand : TaskSelectionCommandBase
{
    private const string FilterSet = "Filter";
    private static readonly TimeSpan StopWait = TimeSpan.FromSeconds(10);

    /// <summary>Piped objects with only an Id are refused: see <see cref="TaskSelectionCommandBase.ChangesTasks"/>.</summary>
    protected override bool ChangesTasks => true;

    [Parameter(ParameterSetName = FilterSet)]
    [ValidateNotNull] // @() is LlmTaskNoFilter; $null must not get further either
    public LlmTaskState[] State { get; set; } = [];

    /// <summary>Tasks that finished (or, unfinished, were created) longer ago than this.</summary>
    [Parameter(ParameterSetName = FilterSet)]
    [NotTicks(nameof(OlderThan))]
    public TimeSpan OlderThan { get; set; }

    /// <summary>Stop Pending and Running tasks, then remove them.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    protected override void ProcessRecord()
    {
        foreach (var (manager, tasks) in ParameterSetName == FilterSet ? Filtered() : SelectTasks())
        {
            var chosen = new List<LlmTask>();
            foreach (var task in tasks)
            {
                if (!task.State.IsTerminal() && !Force)
                {
                    WriteError(ErrorRecords.Create(ErrorRecords.Active, ErrorCategory.InvalidOperation,
                        $"Task {ErrorRecords.Describe(task)} has not finished; it was not removed.", task,
                        "Stop it first with Stop-LlmTask, or use Remove-LlmTask -Force."));
                    continue;
                }

                if (ShouldProcess($"Task {ErrorRecords.Describe(task)}", "Remove"))
                {
                    chosen.Add(task);
                }
            }

            if (chosen.Count > 0)
            {
                Remove(manager, chosen);
            }
        }

        FlushEngineEvents();
    }

    private IEnumerable<(Execution.TaskManager, IReadOnlyList<LlmTask>)> Filtered()
    {
        var bound = MyInvocation.BoundParameters;
        // An empty -State (say, from an empty variable) must never mean "every task".
        if (State.Length == 0 && !bound.ContainsKey(nameof(OlderThan)))
        {
            ThrowTerminatingError(ErrorRecords.Create(ErrorRecords.NoFilter, ErrorCategory.InvalidArgument,
                "Say which tasks to remove: -State, -OlderThan, -Id, -Name, -InstanceId, or task objects from the pipeline.", null));
        }

        var manager = Manager();
        var query = new TaskQuery
        {
            States = State,
            FinishedBefore = bound.ContainsKey(nameof(OlderThan)) ? DateTime.Now - OlderThan : null,
        };
        yield return (manager, manager.Store.Query(query));
    }

    private void Remove(Execution.TaskManager manager, List<LlmTask> tasks)
    {
        var active = tasks.Where(t => !t.State.IsTerminal()).Select(t => t.Id).ToArray();
        try
        {
            if (active.Length > 0)
            {
                var result = manager.Stop(active);
                var waitFor = active.Except(result.Cancelled.Select(t => t.Id)).ToArray();
                if (waitFor.Length > 0)
                {
                    using var wait = new OrderedWait(this, waitFor.Select(id => new OrderedWait.Target(manager, id)), "Stopping LLM tasks before removing them", completionOrder: true);
                    foreach (var _ in wait.Ready(StopWait, PipelineStopping))
                    {
                    }
                }
            }

            manager.Store.Delete(tasks.Select(t => t.Id).ToArray());
        }
        catch (LlmTasksException e)
        {
            WriteError(e);
        }
    }
}

using System.Management.Automation;
using LlmTasks.Storage;

namespace LlmTasks.PowerShell.Commands;

/// <summary>
/// The model calls made for tasks, oldest first: how each ended (Outcome, ErrorKind, Error), its
/// latency, tokens and cost, and the provider's facts about it in DetailsJson (for max/*: the CLI's
/// session id, turns, terminal reason and the tool calls it denied, permission_denials). Without a
/// selection, as Get-LlmTask: the attempts of every task in the store.
/// </summary>
[Cmdlet(VerbsCommon.Get, "LlmTaskAttempt", DefaultParameterSetName = IdSet)]
[OutputType(typeof(LlmAttempt))]
public sealed class GetLlmTaskAttemptCommand : TaskSelectionCommandBase
{
    /// <summary>Ids of tasks; none: every task.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true, ParameterSetName = IdSet)]
    [ValidateNotNullOrEmpty] // an empty variable is refused, as Get-Job -Id refuses it, not read as "every task"
    public new long[] Id
    {
        get => base.Id;
        set => base.Id = value;
    }

    protected override void ProcessRecord()
    {
        var selections = ParameterSetName == IdSet && Id.Length == 0 ? Every() : SelectTasks();
        foreach (var (manager, tasks) in selections)
        {
            foreach (var task in tasks)
            {
                try
                {
                    WriteObject(manager.Store.GetAttempts(task.Id), enumerateCollection: true);
                }
                catch (LlmTasksException e)
                {
                    WriteError(e);
                }
            }
        }

        FlushEngineEvents();
    }

    private IEnumerable<(Execution.TaskManager, IReadOnlyList<LlmTask>)> Every()
    {
        var manager = Manager();
        yield return (manager, manager.Store.Query(TaskQuery.All));
    }
}

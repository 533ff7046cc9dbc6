using System.Management.Automation;

namespace LlmTasks.PowerShell.Commands;

/// <summary>
/// The model calls made for tasks, oldest first: how each ended (Outcome, ErrorKind, Error), its
/// latency, tokens and cost, and the provider's facts about it in DetailsJson (for max/*: the CLI's
/// session id, turns, terminal reason and the tool calls it denied, permission_denials).
/// </summary>
[Cmdlet(VerbsCommon.Get, "LlmTaskAttempt", DefaultParameterSetName = IdSet)]
[OutputType(typeof(LlmAttempt))]
public sealed class GetLlmTaskAttemptCommand : TaskSelectionCommandBase
{
    protected override void ProcessRecord()
    {
        foreach (var (manager, tasks) in SelectTasks())
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
}

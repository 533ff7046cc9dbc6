using System.Management.Automation;
using LlmTasks.Board;
using LlmTasks.PowerShell.Internal;

namespace LlmTasks.PowerShell.Commands;

/// <summary>Stops task boards of this session: their port closes and open pages stop updating. The store is not touched.</summary>
[Cmdlet(VerbsLifecycle.Stop, "LlmTaskBoard", SupportsShouldProcess = true)]
[OutputType(typeof(void))]
public sealed class StopLlmTaskBoardCommand : PSCmdlet
{
    /// <summary>The boards to stop (every board of the session when not given); binds the Id of piped boards.</summary>
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty] // an empty variable is refused, not read as "every board"
    public int[] Id { get; set; } = [];

    protected override void ProcessRecord()
    {
        foreach (var board in BoardSelection.Select(this, Id))
        {
            if (ShouldProcess($"board {board.Id} at http://127.0.0.1:{board.Port}/ ({board.StorePath})", "Stop"))
            {
                board.Stop();
            }
        }
    }
}

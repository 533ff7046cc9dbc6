using System.Management.Automation;
using LlmTasks.Board;
using LlmTasks.PowerShell.Internal;

namespace LlmTasks.PowerShell.Commands;

/// <summary>Lists the task boards this session serves, with their addresses.</summary>
[Cmdlet(VerbsCommon.Get, "LlmTaskBoard")]
[OutputType(typeof(TaskBoard))]
public sealed class GetLlmTaskBoardCommand : PSCmdlet
{
    /// <summary>Only these boards.</summary>
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty] // an empty variable is refused, not read as "every board"
    public int[] Id { get; set; } = [];

    protected override void ProcessRecord()
    {
        foreach (var board in BoardSelection.Select(this, Id))
        {
            WriteObject(board);
        }
    }
}

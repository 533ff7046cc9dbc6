using System.Management.Automation;
using LlmTasks.Board;

namespace LlmTasks.PowerShell.Internal;

/// <summary>The boards -Id names (all of them without it); an id no board has is an LlmTaskBoardNotFound error.</summary>
internal static class BoardSelection
{
    public static IEnumerable<TaskBoard> Select(Cmdlet cmdlet, int[] ids)
    {
        var boards = TaskBoards.All;
        if (ids.Length == 0)
        {
            return boards;
        }

        foreach (var id in ids.Where(id => boards.All(b => b.Id != id)))
        {
            cmdlet.WriteError(ErrorRecords.Create(ErrorIds.BoardNotFound, ErrorCategory.ObjectNotFound,
                $"This session serves no task board {id}. Get-LlmTaskBoard lists the boards it serves (boards end with the session that started them).", id));
        }

        return boards.Where(b => ids.Contains(b.Id));
    }
}

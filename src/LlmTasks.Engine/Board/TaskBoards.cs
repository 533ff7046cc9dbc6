using LlmTasks.Execution;

namespace LlmTasks.Board;

/// <summary>The boards this process serves (Get-LlmTaskBoard), numbered from 1; all stopped when the module is removed.</summary>
public static class TaskBoards
{
    private static readonly object Gate = new();
    private static readonly List<TaskBoard> Running = [];
    private static int _lastId;

    /// <summary>Starts a board for the store of <paramref name="manager"/>.</summary>
    public static TaskBoard Start(TaskManager manager, BoardOptions options)
    {
        lock (Gate)
        {
            var board = TaskBoard.Start(_lastId + 1, manager, options);
            _lastId++;
            Running.Add(board);
            return board;
        }
    }

    public static IReadOnlyList<TaskBoard> All
    {
        get
        {
            lock (Gate)
            {
                return Running.ToArray();
            }
        }
    }

    public static void StopAll()
    {
        foreach (var board in All)
        {
            board.Stop();
        }
    }

    internal static void Forget(TaskBoard board)
    {
        lock (Gate)
        {
            Running.Remove(board);
        }
    }
}

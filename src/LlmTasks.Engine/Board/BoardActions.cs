namespace LlmTasks.Board;

/// <summary>What a board's buttons do (only with <see cref="BoardOptions.AllowActions"/>): the same engine calls as Stop-, Restart-, Approve- and Remove-LlmTask.</summary>
internal static class BoardActions
{
    public sealed record Outcome(int Status, string Message, string? Redirect = null);

    public static Outcome Run(BoardContext board, long id, string action)
    {
        if (board.Store.Get(id) is not { } task)
        {
            return new(404, $"The store has no task {id}.");
        }

        try
        {
            return action switch
            {
                "stop" => Stop(board, task),
                "restart" => Restart(board, task),
                "approve" => Approve(board, task),
                "remove" => Remove(board, task),
                _ => new(404, $"'{action}' is not an action of the board (stop, restart, approve, remove)."),
            };
        }
        catch (LlmTasksException e)
        {
            return new(409, e.Message);
        }
    }

    private static Outcome Stop(BoardContext board, LlmTask task)
    {
        if (task.State.IsTerminal())
        {
            return new(409, $"Task {task.Id} is already {task.State}.");
        }

        var result = board.Manager.Stop([task.Id]);
        return result.Cancelled.Count > 0
            ? new(200, $"Task {task.Id} was cancelled.")
            : new(202, $"Task {task.Id} was asked to stop; the process running it stops it.");
    }

    private static Outcome Restart(BoardContext board, LlmTask task)
    {
        if (!task.State.IsRestartable())
        {
            return new(409, $"Task {task.Id} is {task.State}; only Failed, NeedsReview and Cancelled tasks can be restarted.");
        }

        var restarted = board.Manager.Restart([task.Id]);
        return restarted.Count > 0
            ? new(200, $"Task {task.Id} was restarted: it runs in the process serving this board.")
            : new(409, $"Task {task.Id} changed state before it could be restarted.");
    }

    private static Outcome Approve(BoardContext board, LlmTask task)
    {
        if (task.State != LlmTaskState.NeedsReview)
        {
            return new(409, $"Task {task.Id} is {task.State}; only NeedsReview tasks can be approved.");
        }

        var approved = board.Store.Approve([task.Id], board.Options.ApprovedBy, "Approved on the task board.");
        return approved.Count > 0
            ? new(200, $"Task {task.Id} was approved.")
            : new(409, $"Task {task.Id} changed state before it could be approved.");
    }

    private static Outcome Remove(BoardContext board, LlmTask task)
    {
        if (!task.State.IsTerminal())
        {
            return new(409, $"Task {task.Id} is {task.State}: stop it first, then remove it once it has stopped.");
        }

        board.Store.Delete([task.Id]);
        return new(200, $"Task {task.Id} was removed.", Redirect: "/tasks");
    }
}

namespace LlmTasks;

/// <summary>The next turn of a finished task's conversation (Start-LlmTask -Continue).</summary>
public static class Continuation
{
    /// <summary>
    /// A request that continues <paramref name="task"/>: its messages, its output as the assistant's
    /// turn, then <paramref name="turns"/> (the new prompt), with its model and options. Only a Completed
    /// task has an answer to continue from. Its verification spec is not carried over: it said what a
    /// good answer to the earlier prompt was. A task started with its own key needs a key again
    /// (<paramref name="keyGiven"/>): keys are never stored, and another key must not be sent in its place.
    /// </summary>
    public static LlmTaskRequest From(LlmTask task, IReadOnlyList<LlmMessage> turns, bool keyGiven)
    {
        if (task.State != LlmTaskState.Completed)
        {
            var what = $"Task {task.Id}{(string.IsNullOrEmpty(task.Name) ? "" : $" '{task.Name}'")} ({task.State})";
            throw new LlmTasksException(ErrorIds.NotContinuable, LlmErrorCategory.InvalidOperation, task.State switch
            {
                LlmTaskState.Pending or LlmTaskState.Running =>
                    $"{what} has not finished, so there is no answer to continue from yet. Wait for it first: $task | Wait-LlmTask | Start-LlmTask -Continue -Prompt '…'.",
                LlmTaskState.NeedsReview =>
                    $"{what} needs review, so its answer is not accepted yet. Approve it (Approve-LlmTask) or restart it (Restart-LlmTask) first.",
                _ => $"{what} did not complete, so there is no answer to continue from. Run it again with Restart-LlmTask, or start a new task.",
            }) { Target = task };
        }

        var request = task.Request;
        if (request.ApiKeyGiven && !keyGiven)
        {
            throw new LlmTasksException(ErrorIds.MissingApiKey, LlmErrorCategory.InvalidArgument,
                $"Task {task.Id} was started with its own -ApiKey, and keys are never stored: give -ApiKey again to continue it.") { Target = task };
        }

        return request with
        {
            Messages = [.. request.Messages, new LlmMessage(LlmRole.Assistant, task.Output ?? string.Empty), .. turns],
            Verification = null,
            ApiKeyGiven = keyGiven,
        };
    }
}

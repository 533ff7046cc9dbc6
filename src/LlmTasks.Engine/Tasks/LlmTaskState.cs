namespace LlmTasks;

/// <summary>The lifecycle of a task. Completed, Failed, Cancelled and NeedsReview are terminal.</summary>
public enum LlmTaskState
{
    Pending,
    Running,
    Completed,
    Failed,
    Cancelled,
    NeedsReview,
}

public static class LlmTaskStateExtensions
{
    public static bool IsTerminal(this LlmTaskState state) =>
        state is LlmTaskState.Completed or LlmTaskState.Failed or LlmTaskState.Cancelled or LlmTaskState.NeedsReview;

    /// <summary>Failed, NeedsReview and Cancelled tasks can be run again (Restart-LlmTask).</summary>
    public static bool IsRestartable(this LlmTaskState state) =>
        state is LlmTaskState.Failed or LlmTaskState.NeedsReview or LlmTaskState.Cancelled;
}

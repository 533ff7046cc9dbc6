namespace LlmTasks.Verification;

/// <summary>
/// A check that could not finish because the host that runs it went away (the module's runspaces
/// were closed, the module removed, the process exiting): not a verdict on the output. A task whose
/// check is interrupted goes back to Pending with an Interrupted attempt, as a call cut short by
/// shutdown does; it never becomes NeedsReview or Failed because of it.
/// </summary>
public sealed class CheckInterruptedException : OperationCanceledException
{
    public CheckInterruptedException(string message, CancellationToken token = default)
        : base(message, token)
    {
    }
}

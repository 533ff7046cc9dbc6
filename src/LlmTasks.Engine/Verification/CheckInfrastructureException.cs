namespace LlmTasks.Verification;

/// <summary>
/// A check could not decide for a reason that is not the answer's: its judge's model could not be called (after the
/// pipeline's retries). Not a verdict on the answer, so the task is never re-asked for it: it fails with
/// <see cref="ErrorKind"/>, keeping its answer, and Restart-LlmTask or Invoke-LlmVerification can try the check again.
/// </summary>
internal sealed class CheckInfrastructureException(string errorKind, string message, Exception? inner = null) : Exception(message, inner)
{
    /// <summary>The ErrorKind a judge that cannot run gives its check and task.</summary>
    public const string JudgeUnavailable = "JudgeUnavailable";

    public string ErrorKind { get; } = errorKind;
}

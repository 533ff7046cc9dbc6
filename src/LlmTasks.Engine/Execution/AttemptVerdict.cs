using LlmTasks.Storage;
using LlmTasks.Verification;

namespace LlmTasks.Execution;

/// <summary>
/// What an answer's checks decide for attempt <c>n</c> of a verified task, whether the answer came live or from a batch:
/// Completed when they passed; Failed when a check could not run (no verdict on the answer, so no re-ask) or the attempts
/// are used up; NeedsReview at -ReviewAfterAttempts or when a check says only a person can tell; otherwise no final state,
/// and the attempt, marked failed with the checks' summary, is the one the re-ask answers.
/// </summary>
internal static class AttemptVerdict
{
    public static (AttemptRecord Attempt, LlmTaskState? State, LlmCheckResult[] Failed) Of(AttemptRecord attempt, LlmVerificationResult result, int n, VerificationPlan plan)
    {
        if (result.Passed)
        {
            return (attempt with { Checks = result.Checks }, LlmTaskState.Completed, []);
        }

        var failed = result.FailedChecks.ToArray();
        if (failed.FirstOrDefault(c => c.ErrorKind is not null) is { } broken)
        {
            return (attempt with
            {
                Checks = result.Checks,
                Outcome = LlmAttemptOutcome.Failed,
                Error = $"Attempt {n}'s answer could not be verified: check {broken.Index} ({broken.Label}) could not run. {broken.Reason} "
                    + "The answer is kept as the task's output; Restart-LlmTask runs the task again, Invoke-LlmVerification checks the answer again.",
                ErrorKind = broken.ErrorKind,
            }, LlmTaskState.Failed, failed);
        }

        var summary = FeedbackPrompt.Summary(failed);
        var checkedAttempt = attempt with { Checks = result.Checks, Outcome = LlmAttemptOutcome.Failed, Error = $"Attempt {n} of {plan.MaxAttempts}: {summary}", ErrorKind = "VerificationFailed" };
        if (failed.Any(c => c.Unavailable) || n >= plan.ReviewAfter)
        {
            return (checkedAttempt with { Error = $"Needs review after attempt {n} of {plan.MaxAttempts}. {summary}" }, LlmTaskState.NeedsReview, failed);
        }

        return n >= plan.MaxAttempts
            ? (checkedAttempt with { Error = $"Verification failed after {n} attempt(s). {summary}" }, LlmTaskState.Failed, failed)
            : (checkedAttempt, null, failed);
    }
}

using LlmTasks.Providers;
using LlmTasks.Storage;
using LlmTasks.Verification;

namespace LlmTasks.Execution;

/// <summary>
/// The verification loop above <see cref="ModelCall"/>: call, verify, and on failure re-ask with the
/// whole conversation (original messages, each failed output, a feedback message per failure) until
/// the output passes, the task goes to NeedsReview, or the attempts run out (Failed). Each call is
/// one attempt row; its check results are stored with it.
/// </summary>
internal sealed class TaskRun(ActiveTask task, ProviderRegistry providers, ModelCall.Setup setup,
    CancellationToken shutdown, Func<long> nowMs)
{
    /// <param name="resume">A batch task's re-ask asked live (-LiveReask): the series goes on after the batch's answers.</param>
    public async Task<(AttemptRecord Attempt, LlmTaskState? FinalState)> RunAsync(LlmTaskRequest request, long startedAtMs, ReaskResume? resume = null)
    {
        var plan = request.Verification!;
        var timeout = RequestValidator.Timeout(request);
        Verifier verifier;
        try
        {
            verifier = new Verifier(plan.Checks, providers, services: null, stored: true);
        }
        catch (LlmTasksException e)
        {
            // A spec that was valid when stored but not here (another version, a provider this process lacks).
            return (new AttemptRecord { Outcome = LlmAttemptOutcome.Failed, StartedAtMs = startedAtMs, Error = e.Message, ErrorKind = e.ErrorId }, LlmTaskState.Failed);
        }

        // A judge's calls go through the same pipeline as the task's: the same retry, rows of this task, cost, spans.
        var environment = new VerificationEnvironment(providers, VerificationServices.Default)
        {
            RecordJudgeCall = judge => setup.RecordTry(task.Id, judge),
            Secrets = task.Secrets,
            Retry = setup.Retry,
            Store = task.Task.StorePath,
            Spend = task.Spend,
        };
        var conversation = (resume?.Messages ?? request.Messages).ToList();
        for (var n = (resume?.Answered ?? 0) + 1; ; n++)
        {
            var escalated = plan.ToolAfterAttempts is { } k && n > k;
            // The first call sends the task's own request (its attempt row then points at it, not a copy).
            var sent = n == 1 && !escalated
                ? request
                : request with { Messages = conversation.ToArray(), ProviderOptions = escalated ? Merge(request.ProviderOptions, plan.ToolOptions) : request.ProviderOptions };
            var token = task.BeginRun(shutdown, timeout);
            AttemptRecord attempt;
            LlmTaskState? state;
            LlmVerificationResult result;
            try
            {
                (attempt, state) = await ModelCall.RunAsync(task, sent, n == 1 ? startedAtMs : nowMs(), setup, token).ConfigureAwait(false);
                if (state == LlmTaskState.Failed && attempt.ErrorKind == StructuredAnswer.InvalidJsonKind && attempt.Output is not null)
                {
                    // The model answered, but not with the JSON the task asked for: a failed check, worth a re-ask.
                    result = new LlmVerificationResult
                    {
                        Passed = false,
                        Checks = [new LlmCheckResult { Type = "Json", Name = "ResponseFormat", Passed = false, Reason = attempt.Error, Suggestion = "Answer with JSON only, with no text around it." }],
                    };
                    attempt = attempt with { Outcome = LlmAttemptOutcome.Succeeded, Error = null, ErrorKind = null };
                }
                else if (state != LlmTaskState.Completed)
                {
                    return (attempt, state); // the call itself failed, was stopped or interrupted: no re-ask
                }
                else
                {
                    try
                    {
                        result = await verifier.VerifyAsync(attempt.Output, request.Prompt, task.Task with { Output = attempt.Output, Attempts = n },
                            failFast: false, environment, token).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException e)
                    {
                        // Shutdown, or a check whose host went away (its runspaces closed): not a verdict, so the
                        // task goes back to Pending with an Interrupted attempt, as an interrupted call does.
                        return task.Reason == CancelReason.Shutdown || (e is CheckInterruptedException && task.Reason == CancelReason.None && !task.TimedOut)
                            ? (attempt with
                            {
                                Outcome = LlmAttemptOutcome.Interrupted,
                                Error = task.Reason == CancelReason.Shutdown
                                    ? "LlmTasks shut down in this process (it exited, or the module was removed or its last runspace closed) while the output was being verified; the task went back to Pending."
                                    : e.Message,
                                ErrorKind = "Interrupted",
                            }, null)
                            : task.TimedOut
                                ? (attempt with { Outcome = LlmAttemptOutcome.Failed, Error = $"-TimeoutSec {request.TimeoutSec} ran out while the output was being verified.", ErrorKind = "Timeout" }, LlmTaskState.Failed)
                                : (attempt with { Outcome = LlmAttemptOutcome.Cancelled, Error = "Stopped while the output was being verified.", ErrorKind = "Cancelled" }, LlmTaskState.Cancelled);
                    }
                }
            }
            finally
            {
                task.EndRun();
            }

            var (checkedAttempt, verdict, failed) = AttemptVerdict.Of(attempt, result, n, plan);
            if (verdict is not null)
            {
                return (checkedAttempt, verdict);
            }

            if (task.Reason != CancelReason.None)
            {
                return (checkedAttempt, task.Reason == CancelReason.Shutdown ? null : LlmTaskState.Cancelled);
            }

            await setup.RecordTry(task.Id, resume is null ? checkedAttempt : ReaskResume.Mark(checkedAttempt)).ConfigureAwait(false);
            var hint = plan.ToolAfterAttempts is { } after && n + 1 > after ? plan.ToolHint : null;
            conversation.Add(new LlmMessage(LlmRole.Assistant, attempt.Output ?? string.Empty));
            conversation.Add(new LlmMessage(LlmRole.User, FeedbackPrompt.Build(n, plan.MaxAttempts, failed, request.Prompt, hint)));
        }
    }

    private static ProviderOptions? Merge(ProviderOptions? options, ProviderOptions? tool) =>
        tool is null or { IsEmpty: true } ? options : (options ?? new ProviderOptions()).With(tool);
}

/// <summary>
/// Where a live run of a batch task's re-ask (-LiveReask) goes on from: how many answers of the series failed their checks
/// (the batch's, and live ones before an interruption), and the conversation with their feedback, rebuilt from the store.
/// </summary>
internal sealed record ReaskResume(int Answered, IReadOnlyList<LlmMessage> Messages)
{
    /// <summary>DetailsJson key of an attempt whose answer failed its checks and was asked again (read back by the series).</summary>
    public const string Detail = "reasked";

    /// <summary>The attempt marked as re-asked, so that a process that takes the task over goes on with the same series.</summary>
    public static AttemptRecord Mark(AttemptRecord attempt)
    {
        var details = System.Text.Json.Nodes.JsonNode.Parse(attempt.DetailsJson ?? "{}") as System.Text.Json.Nodes.JsonObject ?? [];
        details[Detail] = true;
        return attempt with { DetailsJson = details.ToJsonString() };
    }
}

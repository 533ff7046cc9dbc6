using LlmTasks.Diagnostics;
using LlmTasks.Storage;

namespace LlmTasks.Execution;

/// <summary>
/// -Verify on batch answers: the checks run when the batch is collected; an answer that fails is re-asked with the
/// conversation rebuilt from the stored attempts, in a new batch or (-LiveReask) live.
/// </summary>
public sealed partial class TaskManager
{
    /// <summary>DetailsJson key of an attempt whose answer failed its checks and was re-asked (in a new batch, or live with -LiveReask).</summary>
    private const string ReaskedDetail = ReaskResume.Detail;

    /// <summary>
    /// -Verify on a batch answer: the checks run here, as for a live call (script blocks in the module's runspaces, a judge's
    /// calls as attempts of the task). Passed: Completed. Failed with attempts left: null, the task is re-asked in a new batch
    /// with the failed answer and the feedback; else NeedsReview or Failed, as -ReviewAfterAttempts and -MaxAttempts say.
    /// </summary>
    /// <param name="n">The answer's number in its series (1 for the first answer since the task was started or restarted), as a live run counts.</param>
    private async Task<(AttemptRecord Attempt, LlmTaskState? State)> VerifyAnswerAsync(HeldBatch held, LlmTask task, AttemptRecord attempt, int n, CancellationToken token)
    {
        var plan = task.Request.Verification!;
        Verification.Verifier verifier;
        try
        {
            verifier = new Verification.Verifier(plan.Checks, _providers, services: null, stored: true);
        }
        catch (LlmTasksException e)
        {
            return (attempt with { Outcome = LlmAttemptOutcome.Failed, Error = e.Message, ErrorKind = e.ErrorId }, LlmTaskState.Failed);
        }

        var owner = BatchOwners.For(held.Id);
        var environment = new Verification.VerificationEnvironment(_providers, Verification.VerificationServices.Default)
        {
            RecordJudgeCall = judge => _worker.Submit(new RecordAttempt(task.Id, owner, judge)),
            Secrets = held.Context.Call.Secrets,
            Retry = _options.Retry,
            Store = task.StorePath,
        };
        Verification.LlmVerificationResult result;
        try
        {
            result = await verifier.VerifyAsync(attempt.Output, task.Request.Prompt, task with { Output = attempt.Output, Attempts = n },
                failFast: false, environment, token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!token.IsCancellationRequested)
        {
            // A check cut short (its runspaces closed): no verdict; the answer is kept, the task can be restarted.
            return (attempt with { Outcome = LlmAttemptOutcome.Failed, Error = "The answer's checks were cut short before they decided; Restart-LlmTask sends the task again.", ErrorKind = "Interrupted" }, LlmTaskState.Failed);
        }

        var (decided, state, _) = AttemptVerdict.Of(attempt, result, n, plan);
        return state is null ? (ReaskResume.Mark(decided), null) : (decided, state);
    }

    /// <summary>Tasks whose batch answers failed their checks went back to Pending: they are taken here at once and gathered into a new batch.</summary>
    private void Reask(IReadOnlyList<long> ids)
    {
        if (ids.Count == 0 || _disposed)
        {
            return;
        }

        var claim = _store.Claim(Owner, ids.Count, LeaseMs, _options.RecoveryLimit, new ClaimScope { Ids = ids });
        EngineEvents.Verbose(() => $"Re-asking task(s) {TaskIds.Describe(claim.Claimed.Select(t => t.Id))} "
            + (claim.Claimed.Any(t => t.Request.Verification?.LiveReask == true) ? "(live, -LiveReask) " : "in a new batch ") + "with feedback: their answers failed their checks.", StorePath);
        foreach (var task in claim.Claimed.Where(t => !_active.ContainsKey(t.Id)))
        {
            Enqueue(Route(task));
        }
    }

    /// <summary>
    /// What a batch sends for a task: its request, or for a re-ask the conversation so far (the original messages, then
    /// for each answer of this series that failed its checks the answer and the feedback), read back from its attempts.
    /// </summary>
    private LlmTaskRequest RequestFor(LlmTask task) => ReaskSeries(task) is { Count: > 0 } reasked ? Conversation(task, reasked) : task.Request;

    /// <summary>A batch task with -LiveReask whose last answer failed its checks: its next attempt is a live call.</summary>
    private bool IsLiveReask(LlmTask task) =>
        task.Request is { Batch: true, Verification.LiveReask: true } && task.Attempts > 0 && ReaskSeries(task).Count > 0;

    /// <summary>
    /// Where a live run of a batch task goes on from: for a -LiveReask re-ask, the answers so far (each failed its checks)
    /// and the conversation with their feedback; null for a task that starts its series (or is no batch task).
    /// </summary>
    private ReaskResume? ResumeFor(LlmTask task) =>
        task.Request is { Batch: true, Verification.LiveReask: true } && task.Attempts > 0 && ReaskSeries(task) is { Count: > 0 } reasked
            ? new ReaskResume(reasked.Count, Conversation(task, reasked).Messages)
            : null;

    /// <summary>
    /// The answers of the task's current series that failed their checks and were asked again, oldest first (empty: the
    /// series starts with the next attempt). A judge's calls in between belong to the series; an interrupted live re-ask is
    /// skipped (it is asked again); any other attempt ended an earlier series.
    /// </summary>
    private IReadOnlyList<LlmAttempt> ReaskSeries(LlmTask task)
    {
        if (task.Request.Verification is null || task.Attempts == 0)
        {
            return [];
        }

        var reasked = new List<LlmAttempt>();
        foreach (var attempt in _store.GetAttempts(task.Id).Reverse())
        {
            if (attempt.DetailsJson is { } json && json.Contains($"\"{ReaskedDetail}\":true", StringComparison.Ordinal))
            {
                reasked.Insert(0, attempt);
            }
            else if (attempt.Outcome == LlmAttemptOutcome.Interrupted && task.Request.Verification.LiveReask)
            {
                continue;
            }
            else if (attempt.DetailsJson?.Contains("\"judge\":true", StringComparison.Ordinal) != true)
            {
                break; // the series began after this one
            }
        }

        return reasked;
    }

    /// <summary>The task's request with the conversation of its series: the original messages, then each failed answer and its feedback.</summary>
    private LlmTaskRequest Conversation(LlmTask task, IReadOnlyList<LlmAttempt> reasked)
    {
        var request = task.Request;
        var plan = request.Verification!;
        var checks = _store.GetChecks([task.Id]).GetValueOrDefault(task.Id) ?? [];
        var conversation = request.Messages.ToList();
        for (var i = 0; i < reasked.Count; i++)
        {
            var k = i + 1;
            var failed = checks.Where(c => c.Attempt == reasked[i].Number && !c.Passed).ToList();
            var hint = plan.ToolAfterAttempts is { } after && k + 1 > after ? plan.ToolHint : null;
            conversation.Add(new LlmMessage(LlmRole.Assistant, reasked[i].Output ?? string.Empty));
            conversation.Add(new LlmMessage(LlmRole.User, Verification.FeedbackPrompt.Build(k, plan.MaxAttempts, failed, request.Prompt, hint)));
        }

        return request with { Messages = conversation.ToArray() };
    }
}

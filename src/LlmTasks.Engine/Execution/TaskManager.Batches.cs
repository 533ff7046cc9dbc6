using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using LlmTasks.Batches;
using LlmTasks.Diagnostics;
using LlmTasks.Providers;
using LlmTasks.Providers.Mock;
using LlmTasks.Providers.Pricing;
using LlmTasks.Storage;

namespace LlmTasks.Execution;

/// <summary>
/// Tasks sent as provider batches (Start-LlmTask -AsBatch). A batch task is stored and held as any other; instead of a
/// lane it joins a gathering of its provider, model, endpoint and key, which is sent as one batch once no task has
/// joined it for <see cref="TaskManagerOptions.BatchWindow"/> (or it reaches the provider's limits, or has gathered for
/// <see cref="TaskManagerOptions.BatchGatherMax"/>). From then on the batch row holds the lease (the tasks are Running,
/// owned by the batch) and this process polls the provider with backoff until the batch ends, then writes each result
/// to its task by custom id. A batch whose process died or shut down is taken over by a wait for its tasks or a worker,
/// which goes on from the stored provider batch id.
/// </summary>
public sealed partial class TaskManager
{
    private readonly object _gatherLock = new();
    private readonly Dictionary<string, Gathering> _gatherings = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<long, HeldBatch> _batches = new();
    private long _lastBatchLookMs = long.MinValue / 2; // store clock: when a worker's pass last looked for batches nobody polls

    /// <summary>The batches this process polls now.</summary>
    internal IReadOnlyCollection<long> HeldBatches => _batches.Keys.ToArray();

    /// <summary>The batch API a task's request goes to: the offline one for -MockResponse, else its provider's (null: it has none).</summary>
    private static IBatchProvider? BatchProviderOf(LlmTaskRequest request, IChatClientProvider? provider) =>
        request.MockResponse is not null ? MockBatchProvider.Instance : provider?.Batches;

    /// <summary>A new request with -AsBatch must go to a provider with a batch API.</summary>
    private static void ValidateBatch(LlmTaskRequest request, ModelId model, IChatClientProvider? provider)
    {
        if (!request.Batch)
        {
            return;
        }

        if (BatchProviderOf(request, provider) is null)
        {
            throw new LlmTasksException(ErrorIds.BatchNotSupported, LlmErrorCategory.InvalidArgument,
                $"-AsBatch: the provider '{model.Provider}' has no batch API LlmTasks can use, so '{model}' cannot be sent as a batch. "
                + "Batches work with openai/… models (OpenAI's Batch API), anthropic/… models (Message Batches), mock/* models (offline) and with -MockResponse; start the task without -AsBatch to call the model live.")
            { Target = model.ToString() };
        }
    }

    /// <summary>Queues a batch task in its gathering; false when the task is not one (it goes to its lane).</summary>
    private bool TryGather(ActiveTask task)
    {
        var request = task.Task.Request;
        if (!request.Batch || task.ResolveError is not null || task.Model is not { } model)
        {
            return false;
        }

        var provider = BatchProviderOf(request, task.Provider);
        if (provider is null)
        {
            return false; // a stored batch task of a provider without a batch API: its run fails with a clear error
        }

        if (IsLiveReask(task.Task))
        {
            return false; // a batch answer failed its checks and -LiveReask asks again live: it goes to its lane
        }

        var key = string.Join('\n', model.ToString(), request.ApiBase ?? string.Empty, request.MockResponse is null ? "live" : "mock",
            request.ApiKeyGiven ? "own key" : "environment", task.Secrets?.ApiKey ?? string.Empty);
        var size = Storage.StoreJson.Serialize(request).Length + 200L;
        lock (_gatherLock)
        {
            if (!_gatherings.TryGetValue(key, out var gathering))
            {
                gathering = new Gathering(key, provider, model, _options.Time.GetTimestamp());
                _gatherings[key] = gathering;
            }
            else if (gathering.Tasks.Count + 1 > provider.Limits.MaxRequests || gathering.Bytes + size > provider.Limits.MaxBytes)
            {
                FlushLocked(gathering); // full: it goes now, and this task starts the next one
                gathering = new Gathering(key, provider, model, _options.Time.GetTimestamp());
                _gatherings[key] = gathering;
            }

            gathering.Tasks.Add(task);
            gathering.Bytes += size;
            if (_options.Time.GetElapsedTime(gathering.Started) >= _options.BatchGatherMax)
            {
                FlushLocked(gathering);
            }
            else if (gathering.Timer is null)
            {
                gathering.Timer = _options.Time.CreateTimer(_ => Flush(gathering), null, _options.BatchWindow, Timeout.InfiniteTimeSpan);
            }
            else
            {
                gathering.Timer.Change(_options.BatchWindow, Timeout.InfiniteTimeSpan); // a quiet window: each task that joins restarts it
            }
        }

        return true;
    }

    private void Flush(Gathering gathering)
    {
        lock (_gatherLock)
        {
            FlushLocked(gathering);
        }
    }

    private void FlushLocked(Gathering gathering)
    {
        if (gathering.Flushed)
        {
            return;
        }

        gathering.Flushed = true;
        gathering.Timer?.Dispose();
        if (_gatherings.TryGetValue(gathering.Key, out var current) && ReferenceEquals(current, gathering))
        {
            _gatherings.Remove(gathering.Key);
        }

        if (_disposed || _shutdown.IsCancellationRequested)
        {
            return; // shutting down: the tasks are handed back Pending, and the next wait or worker gathers them again
        }

        Track(Task.Run(() => SendGathered(gathering)));
    }

    private void Track(Task run)
    {
        _runs.TryAdd(run, 0);
        _ = run.ContinueWith(t => _runs.TryRemove(t, out _), TaskScheduler.Default);
    }

    /// <summary>Stores the gathered tasks as one batch (those nobody stopped meanwhile) and starts polling it.</summary>
    private void SendGathered(Gathering gathering)
    {
        try
        {
            var tasks = gathering.Tasks.Where(t => t.Reason == CancelReason.None).ToList();
            var first = tasks.FirstOrDefault() ?? gathering.Tasks[0];
            var batch = _store.CreateBatch(new NewBatch(gathering.Model.Provider, gathering.Model.ToString(), first.Task.Request.ApiBase),
                tasks.Select(t => t.Id).ToArray(), Owner, LeaseMs);
            foreach (var task in gathering.Tasks)
            {
                _active.TryRemove(KeyValuePair.Create(task.Id, task)); // held by the batch from now on (or stopped)
                task.MarkEnded();
            }

            if (batch is null)
            {
                return;
            }

            EngineEvents.Verbose(() => $"Batch {batch.Id}: {batch.RequestCount} task(s) of {batch.Model} gathered; sending them to the provider as one batch.", StorePath);
            StartBatch(batch, gathering.Provider, gathering.Model, new ProviderCallContext(first.Id, first.Task.Request, first.Secrets));
        }
        catch (Exception e)
        {
            Faulted?.Invoke(e); // the tasks keep their leases until they run out; then a wait or worker gathers them again
        }
    }

    private void StartBatch(LlmBatch row, IBatchProvider provider, ModelId model, ProviderCallContext call)
    {
        var held = new HeldBatch(row, provider, model, new BatchContext(model, call, _options.Time), CancellationTokenSource.CreateLinkedTokenSource(_shutdown.Token));
        if (!_batches.TryAdd(row.Id, held))
        {
            held.Stop.Dispose();
            return;
        }

        Track(Task.Run(() => PollAsync(held)));
    }

    /// <summary>Wakes the polls of held batches now (a stop was asked for): they look at their tasks at once, not after their backoff.</summary>
    private void WakeBatches()
    {
        foreach (var held in _batches.Values)
        {
            held.WakeUp();
        }
    }

    /// <summary>Sends (when not sent yet), then polls the batch with backoff until it ends and its results are written.</summary>
    private async Task PollAsync(HeldBatch held)
    {
        var token = held.Stop.Token;
        var delay = _options.BatchPollMin < _options.BatchPollMax ? _options.BatchPollMin : _options.BatchPollMax;
        try
        {
            while (!token.IsCancellationRequested)
            {
                try
                {
                    if (await StepAsync(held, token).ConfigureAwait(false))
                    {
                        return;
                    }
                }
                catch (OperationCanceledException) when (token.IsCancellationRequested)
                {
                    return;
                }
                catch (BatchLostException)
                {
                    EngineEvents.Verbose(() => $"Batch {held.Id}: another process holds it now; this one stops polling it.", StorePath);
                    return;
                }
                catch (Exception e)
                {
                    var failure = CallErrors.Classify(e, _options.Time, token);
                    if (held.Row.ProviderBatchId is null && !failure.Transient)
                    {
                        // Never sent, and sending cannot work (a missing key, a refused request): its tasks fail now, with the reason.
                        var message = CallErrors.Redact($"The batch could not be sent to the provider: {failure.Message}", held.Context.Call.Secrets);
                        EndBatch(held, LlmBatchState.Failed, message, new UnansweredTasks(LlmTaskState.Failed, message, failure.Kind, LlmAttemptOutcome.Failed));
                        return;
                    }

                    EngineEvents.Verbose(() => $"Batch {held.Id}: the provider could not be asked ({failure.Kind}: {CallErrors.Redact(failure.Message, held.Context.Call.Secrets)}); asking again in {delay.TotalSeconds:0.#} s.", StorePath);
                }

                await held.WaitAsync(delay, token).ConfigureAwait(false);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, _options.BatchPollMax.Ticks));
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            // shut down, or the lease was lost: whoever holds the batch next goes on from its stored id
        }
        finally
        {
            _batches.TryRemove(KeyValuePair.Create(held.Id, held));
            held.Stop.Dispose();
        }
    }

    /// <summary>One look at the batch: true once it ended and its results are written.</summary>
    private async Task<bool> StepAsync(HeldBatch held, CancellationToken token)
    {
        var owner = BatchOwners.For(held.Id);
        var open = _store.TasksOfBatch(held.Id).Where(t => t.State == LlmTaskState.Running && t.Owner == owner).ToList();
        var stopped = open.Where(t => t.CancelRequested).ToList();
        BatchStatus status;
        if (held.Row.ProviderBatchId is null)
        {
            await EndStoppedAsync(held, stopped).ConfigureAwait(false); // stopped before it was sent: they are not sent
            var requests = open.Where(t => !t.CancelRequested).Select(t => new BatchRequest(BatchRequest.IdFor(t.Id, t.Attempts + 1), RequestFor(t))).ToList();
            if (requests.Count == 0)
            {
                EndBatch(held, LlmBatchState.Cancelled, "Every task of the batch was stopped before it was sent.", null);
                return true;
            }

            status = await held.Provider.SubmitAsync(held.Context, requests, token).ConfigureAwait(false);
            held.Row = _store.UpdateBatch(held.Id, Owner, status, LeaseMs) ?? throw new BatchLostException();
            EngineEvents.Verbose(() => $"Batch {held.Id}: sent {requests.Count} request(s) as {status.BatchId} ({status.ProviderStatus}).", StorePath);
            return status.Ended && await CollectAsync(held, status, token).ConfigureAwait(false);
        }

        var batchId = held.Row.ProviderBatchId;
        if (stopped.Count > 0 && stopped.Count == open.Count && held.Row.State != LlmBatchState.Cancelling)
        {
            // Every unfinished task of the batch was stopped: the batch is cancelled at the provider (what it answered stays).
            status = await held.Provider.CancelAsync(held.Context, batchId, token).ConfigureAwait(false);
            EngineEvents.Verbose(() => $"Batch {held.Id}: every task of it was stopped; asked the provider to cancel {batchId} ({status.ProviderStatus}).", StorePath);
            status = status.Ended ? status : status with { State = LlmBatchState.Cancelling };
        }
        else
        {
            if (stopped.Count > 0 && stopped.Count < open.Count)
            {
                await EndStoppedAsync(held, stopped).ConfigureAwait(false); // the rest of the batch goes on; their answers, if they come, are kept as discarded attempts
            }

            status = await held.Provider.GetAsync(held.Context, batchId, token).ConfigureAwait(false);
            if (held.Row.State == LlmBatchState.Cancelling && !status.Ended)
            {
                status = status with { State = LlmBatchState.Cancelling };
            }
        }

        held.Row = _store.UpdateBatch(held.Id, Owner, status, LeaseMs) ?? throw new BatchLostException();
        return status.Ended && await CollectAsync(held, status, token).ConfigureAwait(false);
    }

    /// <summary>Tasks of a batch that were stopped while the rest goes on end Cancelled now (no call of their own: the batch's row says what was sent).</summary>
    private async Task EndStoppedAsync(HeldBatch held, IReadOnlyList<LlmTask> stopped)
    {
        if (stopped.Count == 0)
        {
            return;
        }

        var owner = BatchOwners.For(held.Id);
        var now = _store.NowMs;
        var writes = stopped.Select(t => _worker.Submit(new FinishAttempt(t.Id, owner, new AttemptRecord
        {
            Outcome = LlmAttemptOutcome.Cancelled,
            StartedAtMs = now,
            Error = "Stopped by Stop-LlmTask while its batch was at the provider.",
            ErrorKind = "Cancelled",
            CallMade = false,
        }, LlmTaskState.Cancelled))).ToArray();
        await Task.WhenAll(writes).ConfigureAwait(false);
    }

    /// <summary>Writes each result to its task (by custom id), then ends the batch: tasks it did not answer end as its state says.</summary>
    private async Task<bool> CollectAsync(HeldBatch held, BatchStatus status, CancellationToken token)
    {
        var owner = BatchOwners.For(held.Id);
        var tasks = _store.TasksOfBatch(held.Id).ToDictionary(t => t.Id);
        var submitted = held.Row.SubmittedAt is { } at ? new DateTimeOffset(at.ToUniversalTime()).ToUnixTimeMilliseconds() : _store.NowMs;
        var latency = Math.Max(0, _store.NowMs - submitted);
        var seen = new HashSet<long>();
        var writes = new List<Task<LlmTask?>>();
        var reasks = new List<long>();
        await foreach (var result in held.Provider.ResultsAsync(held.Context, status, token).ConfigureAwait(false))
        {
            if (BatchRequest.TaskOf(result.CustomId) is not { } id || !tasks.TryGetValue(id, out var task) || !seen.Add(id))
            {
                continue; // not one of this batch's requests, or a second result for one
            }

            var open = task.State == LlmTaskState.Running && task.Owner == owner;
            if (!open && !(task.CancelRequested && task.State == LlmTaskState.Cancelled && result.Succeeded))
            {
                continue; // written already (by the process that held the batch before)
            }

            var (attempt, state) = Outcome(held, status, task, result, submitted, latency);
            var series = ReaskSeries(task);
            if (series.Count > 0)
            {
                // A re-ask: its row keeps the conversation it sent (rebuilt from the same attempts as when the batch was sent).
                attempt = attempt with { RequestJson = Storage.StoreJson.Serialize(Conversation(task, series)) };
            }

            LlmTaskState? ending = state;
            if (state == LlmTaskState.Completed && task.Request.Verification is not null)
            {
                (attempt, ending) = await VerifyAnswerAsync(held, task, attempt, series.Count + 1, token).ConfigureAwait(false);
                if (ending is null)
                {
                    reasks.Add(id);
                }
            }

            writes.Add(_worker.Submit(new FinishAttempt(id, owner, attempt, ending)));
        }

        await Task.WhenAll(writes).ConfigureAwait(false);
        Reask(reasks);
        var final = status.State switch
        {
            LlmBatchState.Expired => LlmBatchState.Expired,
            LlmBatchState.Cancelled or LlmBatchState.Cancelling => LlmBatchState.Cancelled,
            LlmBatchState.Failed => LlmBatchState.Failed,
            _ => LlmBatchState.Completed,
        };
        var name = status.BatchId;
        var unanswered = final switch
        {
            LlmBatchState.Expired => new UnansweredTasks(LlmTaskState.Failed,
                $"The batch {name} expired at the provider before this request was answered; Restart-LlmTask sends it again (in a new batch).", "BatchExpired", LlmAttemptOutcome.Failed),
            LlmBatchState.Cancelled => new UnansweredTasks(LlmTaskState.Cancelled,
                $"The batch {name} was cancelled at the provider before this request was answered; Restart-LlmTask sends it again.", "Cancelled", LlmAttemptOutcome.Cancelled),
            LlmBatchState.Failed => new UnansweredTasks(LlmTaskState.Failed,
                $"The batch {name} failed at the provider: {status.Error ?? "it gave no reason"}. Restart-LlmTask sends the task again.", "BatchFailed", LlmAttemptOutcome.Failed),
            _ => new UnansweredTasks(LlmTaskState.Failed,
                $"The batch {name} ended without a result for this request; Restart-LlmTask sends it again.", "BatchResultMissing", LlmAttemptOutcome.Failed),
        };
        EndBatch(held, final, status.Error, unanswered);
        return true;
    }

    private (AttemptRecord Attempt, LlmTaskState State) Outcome(HeldBatch held, BatchStatus status, LlmTask task, BatchResult result, long submitted, long latency)
    {
        var details = new JsonObject { ["batch"] = held.Id, ["providerBatchId"] = status.BatchId, ["customId"] = result.CustomId };
        if (result.DetailsJson is { } provider)
        {
            try
            {
                details["provider"] = JsonNode.Parse(provider);
            }
            catch (System.Text.Json.JsonException)
            {
                details["provider"] = provider;
            }
        }

        var attempt = new AttemptRecord
        {
            Outcome = result.Succeeded ? LlmAttemptOutcome.Succeeded : result.ErrorKind == "Cancelled" ? LlmAttemptOutcome.Cancelled : LlmAttemptOutcome.Failed,
            StartedAtMs = submitted,
            LatencyMs = latency,
            Output = result.Output,
            InputTokens = result.InputTokens,
            OutputTokens = result.OutputTokens,
            CostUsd = result.Succeeded ? ModelPrices.Cost(held.Model, result.InputTokens, result.OutputTokens, batch: true) : null,
            Error = result.Succeeded ? null : CallErrors.Redact(result.Error ?? "The provider gave no reason.", held.Context.Call.Secrets),
            ErrorKind = result.Succeeded ? null : result.ErrorKind ?? "ProviderError",
            DetailsJson = details.ToJsonString(),
        };
        if (!result.Succeeded)
        {
            return (attempt, attempt.Outcome == LlmAttemptOutcome.Cancelled ? LlmTaskState.Cancelled : LlmTaskState.Failed);
        }

        if (task.CancelRequested)
        {
            return (attempt, LlmTaskState.Cancelled); // stopped, but answered before the stop reached the provider: the answer is on record
        }

        if (task.Request.WantsJson)
        {
            return StructuredAnswer.TryRead(result.Output, out var json, out var problem)
                ? (attempt with { StructuredOutput = json }, LlmTaskState.Completed)
                : (attempt with { Outcome = LlmAttemptOutcome.Failed, Error = problem, ErrorKind = StructuredAnswer.InvalidJsonKind }, LlmTaskState.Failed);
        }

        return (attempt, LlmTaskState.Completed);
    }

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

        if (result.Passed)
        {
            return (attempt with { Checks = result.Checks }, LlmTaskState.Completed);
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
            }, LlmTaskState.Failed);
        }

        var summary = Verification.FeedbackPrompt.Summary(failed);
        var checkedAttempt = attempt with { Checks = result.Checks, Outcome = LlmAttemptOutcome.Failed, Error = $"Attempt {n} of {plan.MaxAttempts}: {summary}", ErrorKind = "VerificationFailed" };
        if (failed.Any(c => c.Unavailable) || n >= plan.ReviewAfter)
        {
            return (checkedAttempt with { Error = $"Needs review after attempt {n} of {plan.MaxAttempts}. {summary}" }, LlmTaskState.NeedsReview);
        }

        if (n >= plan.MaxAttempts)
        {
            return (checkedAttempt with { Error = $"Verification failed after {n} attempt(s). {summary}" }, LlmTaskState.Failed);
        }

        return (ReaskResume.Mark(checkedAttempt), null);
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

    private void EndBatch(HeldBatch held, LlmBatchState state, string? error, UnansweredTasks? unanswered)
    {
        if (_store.EndBatch(held.Id, Owner, state, error, unanswered) is not { } ended)
        {
            return;
        }

        held.Row = ended.Batch;
        EngineEvents.Verbose(() => $"Batch {held.Id} ({ended.Batch.ProviderBatchId ?? "not sent"}) ended {state}: {ended.Batch.CompletedCount} of {ended.Batch.RequestCount} answered"
            + (ended.Batch.CostUsd is { } cost ? $", about {cost:0.######} USD at the batch price." : "."), StorePath);
        if (ended.Ended.Count > 0)
        {
            TasksFinished?.Invoke(ended.Ended);
        }
    }

    /// <summary>
    /// Takes over unfinished batches no live process polls (their lease ran out, or their process is gone): those of the
    /// given tasks (a wait), or all (a worker). Returns true when it took one.
    /// </summary>
    private bool ClaimBatchesFor(IReadOnlyCollection<long>? taskIds)
    {
        if (taskIds is { Count: 0 })
        {
            return false;
        }

        var candidates = _store.GetBatches(new BatchQuery { UnfinishedOnly = true, TaskIds = taskIds });
        var now = _store.NowMs;
        var gone = GoneOwners(candidates.Select(b => b.Owner));
        var takeable = candidates
            .Where(b => !_batches.ContainsKey(b.Id) && (b.Owner is null || b.LeaseExpiresMs is null || b.LeaseExpiresMs < now || gone.Contains(b.Owner)))
            .ToDictionary(b => b.Id);
        if (takeable.Count == 0)
        {
            return false;
        }

        foreach (var row in _store.ClaimBatches(Owner, takeable.Keys, LeaseMs, gone))
        {
            var before = takeable[row.Id].Owner;
            EngineEvents.Verbose(() => $"Batch {row.Id} ({row.ProviderBatchId ?? "not sent yet"}): taken over"
                + (before is null ? "; nobody was polling it." : $" from {LeaseOwner.Describe(before)}, which is no longer polling it.") + " Going on from the provider's batch id.", StorePath);
            Resume(row);
        }

        return true;
    }

    /// <summary>Goes on with a batch taken over: the provider, model and endpoint come from its tasks' own (signed) requests, never from the batch row.</summary>
    private void Resume(LlmBatch row)
    {
        var owner = BatchOwners.For(row.Id);
        var open = _store.TasksOfBatch(row.Id).FirstOrDefault(t => t.State == LlmTaskState.Running && t.Owner == owner);
        if (open is null)
        {
            _store.EndBatch(row.Id, Owner, row.State == LlmBatchState.Cancelling ? LlmBatchState.Cancelled : LlmBatchState.Completed, null, null);
            return;
        }

        var active = Route(open);
        var provider = active.ResolveError is null ? BatchProviderOf(open.Request, active.Provider) : null;
        if (provider is null || active.Model is not { } model)
        {
            var message = $"The batch's tasks cannot be collected here: {active.ResolveError?.Message ?? $"the provider '{active.Lane}' has no batch API in this version of LlmTasks."}";
            _store.EndBatch(row.Id, Owner, LlmBatchState.Failed, message,
                new UnansweredTasks(LlmTaskState.Failed, message, (active.ResolveError as LlmTasksException)?.ErrorId ?? ErrorIds.BatchNotSupported, LlmAttemptOutcome.Failed));
            return;
        }

        StartBatch(row, provider, model, new ProviderCallContext(open.Id, open.Request, null));
    }

    private static LlmTasksException NotBatchable(ModelId model) => new(ErrorIds.BatchNotSupported, LlmErrorCategory.InvalidArgument,
        $"The task was stored to be sent as a batch, but the provider '{model.Provider}' has no batch API in this version of LlmTasks. Restart-LlmTask it after changing -Model.")
    { Target = model.ToString() };

    /// <summary>Tasks gathered for one batch, not sent yet.</summary>
    private sealed class Gathering(string key, IBatchProvider provider, ModelId model, long started)
    {
        public string Key { get; } = key;
        public IBatchProvider Provider { get; } = provider;
        public ModelId Model { get; } = model;
        public long Started { get; } = started;
        public List<ActiveTask> Tasks { get; } = [];
        public long Bytes { get; set; }
        public ITimer? Timer { get; set; }
        public bool Flushed { get; set; }
    }

    /// <summary>A batch this process polls.</summary>
    private sealed class HeldBatch(LlmBatch row, IBatchProvider provider, ModelId model, BatchContext context, CancellationTokenSource stop)
    {
        private TaskCompletionSource _wake = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public long Id { get; } = row.Id;
        public LlmBatch Row { get; set; } = row;
        public IBatchProvider Provider { get; } = provider;
        public ModelId Model { get; } = model;
        public BatchContext Context { get; } = context;
        public CancellationTokenSource Stop { get; } = stop;

        public void WakeUp() => Volatile.Read(ref _wake).TrySetResult();

        /// <summary>Waits the delay on the manager's clock, or until woken.</summary>
        public async Task WaitAsync(TimeSpan delay, CancellationToken token)
        {
            var wake = Volatile.Read(ref _wake);
            await Task.WhenAny(wake.Task, Task.Delay(delay, Context.Time, token)).ConfigureAwait(false);
            token.ThrowIfCancellationRequested();
            if (wake.Task.IsCompleted)
            {
                Interlocked.CompareExchange(ref _wake, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously), wake);
            }
        }
    }

    /// <summary>This process no longer holds the batch (its lease ran out and another took it): it stops polling.</summary>
    private sealed class BatchLostException : Exception;
}

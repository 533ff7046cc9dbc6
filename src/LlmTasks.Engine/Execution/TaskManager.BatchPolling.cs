using LlmTasks.Batches;
using LlmTasks.Diagnostics;
using LlmTasks.Providers;
using LlmTasks.Storage;

namespace LlmTasks.Execution;

/// <summary>
/// The batches this process holds: sent (when not sent yet), then polled with backoff under the batch's lease until the
/// provider ends them; stops of some or all of a batch's tasks; the end of a batch.
/// </summary>
public sealed partial class TaskManager
{
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

using System.Text.Json.Nodes;
using LlmTasks.Batches;
using LlmTasks.Providers.Pricing;
using LlmTasks.Storage;

namespace LlmTasks.Execution;

/// <summary>An ended batch's results, written to their tasks by custom id: output, usage, cost at the batch price, an attempt each.</summary>
public sealed partial class TaskManager
{
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
}

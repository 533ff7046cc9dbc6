using LlmTasks.Diagnostics;
using LlmTasks.Providers;
using LlmTasks.Storage;

namespace LlmTasks.Execution;

/// <summary>Batches no live process polls (their process died or shut down), taken over from their stored provider batch id.</summary>
public sealed partial class TaskManager
{
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
}

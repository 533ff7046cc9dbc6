namespace LlmTasks.Storage;

/// <summary>
/// What a store keeps of provider batches (table <c>batches</c>, migration 5), on every backend alike. A batch's
/// tasks are Running while it is at the provider, with <see cref="BatchOwner"/> as their lease owner and no lease
/// expiry: no task claim takes them (they are not lost when a process dies, their batch is), and the results are
/// written to them as that owner. The batch row carries the lease of the process that polls it; any process may
/// take an expired one (or one of a gone owner) over and go on from the provider's batch id.
/// </summary>
public interface IBatchStore
{
    /// <summary>
    /// Stores a new batch (Submitting, leased to <paramref name="owner"/>) and moves those of the tasks that this owner
    /// still holds Pending and nobody stopped into it (Running, owned by the batch). Null when none could be moved (then nothing is stored).
    /// </summary>
    LlmBatch? CreateBatch(NewBatch batch, IReadOnlyCollection<long> taskIds, string owner, long leaseMs);

    /// <summary>Writes what the provider said (id, state, counts, expiry) and renews the lease; null when this owner no longer holds the batch.</summary>
    LlmBatch? UpdateBatch(long batchId, string owner, Batches.BatchStatus status, long leaseMs);

    /// <summary>
    /// Ends a batch this owner holds: the state, the error, the cost of its answers; every task still Running in it ends
    /// as <paramref name="unanswered"/> says (with an attempt row: its request was sent). Returns the tasks it ended, or null when not held.
    /// </summary>
    (LlmBatch Batch, IReadOnlyList<LlmTask> Ended)? EndBatch(long batchId, string owner, LlmBatchState state, string? error, UnansweredTasks? unanswered);

    /// <summary>Batches, oldest first: by id, by the tasks in them, unfinished ones only, the newest n.</summary>
    IReadOnlyList<LlmBatch> GetBatches(BatchQuery query);

    /// <summary>The tasks of a batch (whatever their state), by id.</summary>
    IReadOnlyList<LlmTask> TasksOfBatch(long batchId);

    /// <summary>Takes over unfinished batches among <paramref name="ids"/> whose lease is gone, expired or of a <paramref name="goneOwners">gone owner</paramref>.</summary>
    IReadOnlyList<LlmBatch> ClaimBatches(string owner, IReadOnlyCollection<long> ids, long leaseMs, IReadOnlyCollection<string> goneOwners);

    /// <summary>Renews the leases of the batches this owner polls; returns those no longer its own.</summary>
    IReadOnlyList<long> RenewBatchLeases(string owner, IReadOnlyCollection<long> held, long leaseMs);

    /// <summary>Gives up the leases of every batch this owner holds (it shuts down): the next wait or worker goes on with them at once.</summary>
    int ReleaseBatches(string owner);
}

/// <summary>A batch about to be sent.</summary>
public sealed record NewBatch(string Provider, string Model, string? Endpoint);

/// <summary>How the tasks a batch did not answer end: their state, error and kind (BatchExpired, Cancelled …).</summary>
public sealed record UnansweredTasks(LlmTaskState State, string Error, string ErrorKind, LlmAttemptOutcome Outcome);

/// <summary>Which batches to read.</summary>
public sealed record BatchQuery
{
    public IReadOnlyCollection<long>? Ids { get; init; }
    /// <summary>The batches these tasks are in.</summary>
    public IReadOnlyCollection<long>? TaskIds { get; init; }
    public bool UnfinishedOnly { get; init; }
    public IReadOnlyCollection<LlmBatchState>? States { get; init; }
    public int? Newest { get; init; }
}

public static class BatchOwners
{
    /// <summary>The lease owner of a batch's tasks while it is at the provider: "batch:{id}".</summary>
    public static string For(long batchId) => $"batch:{batchId}";

    /// <summary>
    /// SQL (both backends) for a task row not held by a batch at the provider (whose lease has no expiry, so it would look
    /// takeable): a re-ask of a batch answer, Pending again and still naming its batch, is claimable as any task.
    /// </summary>
    /// (A process's owner has colons after its host part, so a machine named "batch" is no batch.)
    internal const string NotHeldSql = "(lease_owner IS NULL OR lease_owner NOT LIKE 'batch:%' OR lease_owner LIKE 'batch:%:%')";

    /// <summary>The batch a task's lease owner names, or null when it is a process.</summary>
    public static long? BatchOf(string? owner) =>
        owner is not null && owner.StartsWith("batch:", StringComparison.Ordinal)
        && long.TryParse(owner.AsSpan(6), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var id) ? id : null;
}

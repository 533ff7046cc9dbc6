using LlmTasks.Verification;

namespace LlmTasks.Storage;

/// <summary>
/// Everything the engine and the cmdlets ask of a task store: one implementation per backend (a SQLite
/// file, a PostgreSQL database; see <see cref="StoreBackends"/>), each with exactly the same semantics.
/// Instants are UTC milliseconds on the store's own clock (<see cref="NowMs"/>): leases are written and
/// compared there, never on a client's clock. Lease lengths are durations the store adds to its clock.
/// Reads never write; every write is one transaction.
/// </summary>
public interface ITaskStore : IBatchStore, IBudgetStore, IDisposable
{
    /// <summary>Which store this is; prints without its password.</summary>
    StoreReference Reference { get; }

    /// <summary>The store as tasks show it (<see cref="LlmTask.StorePath"/>): a full path, or a URI without the password.</summary>
    string Path { get; }

    /// <summary>True when the store can be read but not written (a write-protected file, a read-only role or server).</summary>
    bool IsReadOnly { get; }

    /// <summary>Why the store is read-only, in words ("the file is write-protected"); null when it is not.</summary>
    string? ReadOnlyReason { get; }

    /// <summary>True once the store was found damaged: nothing is written to it by this process from then on.</summary>
    bool IsCorrupt { get; }

    /// <summary>The schema version the store has (this module's latest: older ones are migrated on open, newer ones refused).</summary>
    int SchemaVersion { get; }

    /// <summary>Now, on the store's clock (UTC ms): the database server's for a server backend.</summary>
    long NowMs { get; }

    /// <summary>Refuses to go on (throws <see cref="ErrorIds.StoreCorrupt"/>) when the store is damaged; checks it before the first write.</summary>
    void EnsureIntact();

    // Reads

    LlmTask? Get(long id);

    IReadOnlyList<LlmTask> Query(TaskQuery query);

    /// <summary>How many tasks match a query's filters (its Newest, Sort, Skip and Take aside): a list's total beside its page.</summary>
    long Count(TaskQuery query);

    /// <summary>Tasks that reached a terminal state at or after an instant (store clock, UTC ms), oldest first.</summary>
    IReadOnlyList<LlmTask> FinishedSince(long sinceMs);

    IReadOnlyList<LlmAttempt> GetAttempts(long taskId);

    /// <summary>Every stored check result of the tasks, by task, in attempt and position order.</summary>
    IReadOnlyDictionary<long, IReadOnlyList<LlmCheckResult>> GetChecks(IReadOnlyCollection<long> taskIds);

    /// <summary>Who holds the unfinished tasks: one row per owner (null for the unleased ones), with the count and the earliest lease end.</summary>
    IReadOnlyList<LeaseHolder> LeaseHolders();

    /// <summary>The leases of those of these tasks that are unfinished.</summary>
    IReadOnlyList<LeaseState> LeaseStates(IReadOnlyCollection<long> ids);

    /// <summary>The streamed text so far of those of the tasks that are Running and have some (for -Stream, across processes).</summary>
    IReadOnlyDictionary<long, string> PartialOutputs(IReadOnlyCollection<long> ids);

    /// <summary>
    /// How many processes hold unexpired leases on unfinished tasks of <paramref name="scope"/> (a provider, or a whole model)
    /// now: the processes a rate limit of the scope is shared by.
    /// </summary>
    int ActiveHolders(string scope);

    /// <summary>How many tasks the store holds in each state (for the llmtasks.tasks metric).</summary>
    IReadOnlyDictionary<LlmTaskState, long> CountByState();

    // Writes

    /// <summary>Adds a Pending task in a transaction of its own, leased to <paramref name="owner"/> for <paramref name="leaseMs"/> when given.</summary>
    LlmTask Insert(LlmTaskRequest request, string provider, string? owner, long? leaseMs);

    /// <summary>Applies the writes in order in one transaction; each result is the task as written, or null when the write did not apply.</summary>
    LlmTask?[] Apply(IReadOnlyList<StoreWrite> writes);

    /// <summary>
    /// Stops tasks in one transaction: Pending ones (whoever holds them) become Cancelled at once and are
    /// returned; Running ones are flagged for the process running them.
    /// </summary>
    (IReadOnlyList<LlmTask> Cancelled, IReadOnlyList<long> Flagged) Stop(IReadOnlyCollection<long> ids, string reason);

    /// <summary>Deletes tasks with their attempts and check results.</summary>
    int Delete(IReadOnlyCollection<long> ids);

    /// <summary>
    /// Takes over work no live process holds, within <paramref name="scope"/>: Pending tasks with no lease, an
    /// expired one or one of a gone owner, and Running tasks whose lease expired or whose owner is gone (their
    /// call is recorded as Interrupted and the task runs again, up to <paramref name="recoveryLimit"/> times,
    /// then fails). Exactly one claimer gets each task.
    /// </summary>
    ClaimResult Claim(string owner, int limit, long leaseMs, int recoveryLimit, ClaimScope? scope = null, IReadOnlyCollection<string>? goneOwners = null);

    /// <summary>
    /// Extends the leases of the tasks this owner holds in memory; returns the held tasks somebody asked to stop,
    /// and those no longer this owner's.
    /// </summary>
    (IReadOnlyList<long> StopRequested, IReadOnlyList<long> Lost) RenewLeases(string owner, IReadOnlyCollection<long> held, long leaseMs);

    /// <summary>
    /// Hands everything this owner holds back (or only the tasks <paramref name="ids"/> among them): Pending tasks
    /// lose their lease, Running ones get an Interrupted attempt and become Pending. Returns how many.
    /// </summary>
    int Release(string owner, IReadOnlyCollection<long>? ids = null);

    /// <summary>Keeps a model call made for a finished task after the fact (a judge) as an attempt of its own.</summary>
    void RecordCall(long taskId, AttemptRecord attempt);

    /// <summary>Stores results of checks run after the fact against the task's latest attempt.</summary>
    void RecordChecks(long taskId, IReadOnlyList<LlmCheckResult> checks);

    /// <summary>Completes NeedsReview tasks as a person decided, keeping an Approval check row.</summary>
    IReadOnlyList<LlmTask> Approve(IReadOnlyCollection<long> ids, string approvedBy, string? note);

    /// <summary>
    /// Failed, NeedsReview and Cancelled tasks back to Pending for a new attempt series, leased to <paramref name="owner"/>
    /// for <paramref name="leaseMs"/>; <paramref name="changed"/> replaces a task's stored request for the new series.
    /// </summary>
    IReadOnlyList<LlmTask> Restart(IReadOnlyCollection<long> ids, string owner, long leaseMs,
        IReadOnlyDictionary<long, (LlmTaskRequest Request, string Provider)>? changed = null);

    // Changes made elsewhere

    /// <summary>
    /// Raised on a background thread when a process (this one or another) added, finished or stopped tasks, once
    /// <see cref="ListenForChanges"/> started listening. A backend that cannot tell never raises it: polling finds the change.
    /// </summary>
    event Action<StoreChange>? Changed;

    /// <summary>Starts listening for <see cref="Changed"/> (a connection of its own); does nothing where the backend cannot, or when listening already.</summary>
    void ListenForChanges();
}

/// <summary>What a change notification says happened in the store.</summary>
public enum StoreChange
{
    /// <summary>Work became available: tasks were added, or handed back.</summary>
    TasksAdded,
    /// <summary>Tasks reached a terminal state (or were removed).</summary>
    TasksFinished,
    /// <summary>Running tasks were asked to stop: whoever holds them should look now, not at the next heartbeat.</summary>
    StopRequested,
}

using LlmTasks.Batches;
using LlmTasks.Diagnostics;
using Npgsql;

namespace LlmTasks.Storage.Postgres;

/// <summary>Provider batches (<see cref="IBatchStore"/>) in the PostgreSQL store, with the same semantics as the SQLite store's; leases on the server's clock.</summary>
internal sealed partial class PostgresTaskStore
{
    internal const string BatchColumns =
        "id, provider, model, endpoint, provider_batch_id, state, provider_status, request_count, completed_count, failed_count, " +
        "created_at, submitted_at, expires_at, ended_at, cost_nanousd, error, lease_owner, lease_expires_at";

    private const string Unfinished = "state IN ('Submitting', 'Validating', 'InProgress', 'Finalizing', 'Cancelling')";

    public LlmBatch? CreateBatch(NewBatch batch, IReadOnlyCollection<long> taskIds, string owner, long leaseMs) => taskIds.Count == 0 ? null : Write(tx =>
    {
        long id;
        using (var insert = tx.Command($"""
            INSERT INTO batches (provider, model, endpoint, state, created_at, lease_owner, lease_expires_at)
            VALUES (@provider, @model, @endpoint, 'Submitting', {Now}, @owner, {Now} + @lease)
            RETURNING id
            """, Text("provider", batch.Provider), Text("model", batch.Model), Text("endpoint", batch.Endpoint), Text("owner", owner), Long("lease", leaseMs)))
        {
            id = Convert.ToInt64(insert.ExecuteScalar());
        }

        int moved;
        using (var move = tx.Command($"""
            UPDATE tasks SET state = 'Running', started_at = {Now}, batch_id = @batch, lease_owner = @batchOwner, lease_expires_at = NULL
            WHERE id = ANY(@ids) AND state = 'Pending' AND {HeldBy} AND cancel_requested = 0
            """, Long("batch", id), Text("batchOwner", BatchOwners.For(id)), Longs("ids", taskIds), Text("owner", owner)))
        {
            moved = move.ExecuteNonQuery();
        }

        if (moved == 0)
        {
            using var drop = tx.Command("DELETE FROM batches WHERE id = @id", Long("id", id));
            drop.ExecuteNonQuery();
            return null;
        }

        using var count = tx.Command($"UPDATE batches SET request_count = @n WHERE id = @id RETURNING {BatchColumns}", Int("n", moved), Long("id", id));
        return ReadBatches(count).Single();
    }, StoreChange.TasksAdded);

    public LlmBatch? UpdateBatch(long batchId, string owner, BatchStatus status, long leaseMs) => Write(tx =>
    {
        using var command = tx.Command($"""
            UPDATE batches SET provider_batch_id = @pid, state = @state, provider_status = @status, completed_count = @completed, failed_count = @failed,
                expires_at = coalesce(@expiresAt, expires_at), error = @error, details = coalesce(@details, details),
                submitted_at = coalesce(submitted_at, {Now}), lease_expires_at = {Now} + @lease
            WHERE id = @id AND lease_owner = @owner AND {Unfinished}
            RETURNING {BatchColumns}
            """,
            Text("pid", status.BatchId),
            // The provider is done, but the results are not written yet: that is what Finalizing says here.
            Text("state", (status.State.IsTerminal() ? LlmBatchState.Finalizing : status.State).ToString()),
            Text("status", status.ProviderStatus),
            Int("completed", status.Completed),
            Int("failed", status.Failed),
            Long("expiresAt", status.ExpiresAt?.ToUnixTimeMilliseconds()),
            Text("error", Secrets.RedactOrNull(status.Error)),
            Text("details", Secrets.RedactOrNull(status.DetailsJson)),
            Long("lease", leaseMs),
            Long("id", batchId),
            Text("owner", owner));
        return ReadBatches(command).FirstOrDefault();
    });

    public (LlmBatch Batch, IReadOnlyList<LlmTask> Ended)? EndBatch(long batchId, string owner, LlmBatchState state, string? error, UnansweredTasks? unanswered) =>
        Write<(LlmBatch, IReadOnlyList<LlmTask>)?>(tx =>
    {
        long submitted;
        using (var held = tx.Command($"SELECT coalesce(submitted_at, created_at) FROM batches WHERE id = @id AND lease_owner = @owner AND {Unfinished} FOR UPDATE",
            Long("id", batchId), Text("owner", owner)))
        {
            if (held.ExecuteScalar() is not long at)
            {
                return null;
            }

            submitted = at;
        }

        var now = NowMs;
        var ended = new List<LlmTask>();
        if (unanswered is not null)
        {
            var batchOwner = BatchOwners.For(batchId);
            var tasks = new List<(long Id, int Attempts)>();
            using (var open = tx.Command("SELECT id, attempts FROM tasks WHERE batch_id = @id AND state = 'Running' AND lease_owner = @batchOwner ORDER BY id FOR UPDATE",
                Long("id", batchId), Text("batchOwner", batchOwner)))
            using (var reader = open.ExecuteReader())
            {
                while (reader.Read())
                {
                    tasks.Add((reader.GetInt64(0), reader.GetInt32(1)));
                }
            }

            if (tasks.Count > 0)
            {
                using (var batch = tx.Batch())
                {
                    foreach (var (id, attempts) in tasks)
                    {
                        AddAttempt(batch, id, attempts + 1, new AttemptRecord
                        {
                            Outcome = unanswered.Outcome,
                            StartedAtMs = submitted,
                            LatencyMs = now - submitted,
                            Error = unanswered.Error,
                            ErrorKind = unanswered.ErrorKind,
                            DetailsJson = $$"""{"batch":{{batchId}}}""",
                        }, batchOwner);
                    }

                    batch.ExecuteNonQuery();
                }

                using var end = tx.Command($"""
                    UPDATE tasks SET state = @state, error = @error, error_kind = @kind, attempts = attempts + 1, completed_at = {Now},
                        lease_owner = NULL, lease_expires_at = NULL
                    WHERE id = ANY(@ids)
                    RETURNING {TaskColumns}
                    """, Text("state", unanswered.State.ToString()), Text("error", unanswered.Error), Text("kind", unanswered.ErrorKind), Longs("ids", tasks.Select(t => t.Id)));
                ended.AddRange(ReadTasks(end));
                ended.Sort((a, b) => a.Id.CompareTo(b.Id));
                tx.Notify.Add(Kind(StoreChange.TasksFinished));
            }
        }

        using var finish = tx.Command($"""
            UPDATE batches SET state = @state, error = coalesce(@error, error), ended_at = {Now}, lease_owner = NULL, lease_expires_at = NULL,
                cost_nanousd = (SELECT sum(cost_nanousd) FROM tasks WHERE batch_id = @id),
                completed_count = (SELECT count(*) FROM tasks WHERE batch_id = @id AND state = 'Completed'),
                failed_count = (SELECT count(*) FROM tasks WHERE batch_id = @id AND state <> 'Completed')
            WHERE id = @id
            RETURNING {BatchColumns}
            """, Text("state", state.ToString()), Text("error", Secrets.RedactOrNull(error)), Long("id", batchId));
        return (ReadBatches(finish).Single(), (IReadOnlyList<LlmTask>)ended);
    });

    public IReadOnlyList<LlmBatch> GetBatches(BatchQuery query) => Read(connection =>
    {
        var where = new List<string>();
        var parameters = new List<NpgsqlParameter>();
        if (query.Ids is { } ids)
        {
            where.Add("id = ANY(@ids)");
            parameters.Add(Longs("ids", ids));
        }

        if (query.TaskIds is { } taskIds)
        {
            where.Add("id IN (SELECT batch_id FROM tasks WHERE id = ANY(@tasks) AND batch_id IS NOT NULL)");
            parameters.Add(Longs("tasks", taskIds));
        }

        if (query.UnfinishedOnly)
        {
            where.Add(Unfinished);
        }

        if (query.States is { } states)
        {
            where.Add("state = ANY(@states)");
            parameters.Add(Texts("states", states.Select(s => s.ToString())));
        }

        var filter = where.Count == 0 ? string.Empty : " WHERE " + string.Join(" AND ", where);
        using var command = new NpgsqlCommand(query.Newest is { } newest
            ? $"SELECT * FROM (SELECT {BatchColumns} FROM batches{filter} ORDER BY id DESC LIMIT {newest}) AS newest ORDER BY id"
            : $"SELECT {BatchColumns} FROM batches{filter} ORDER BY id", connection);
        command.Parameters.AddRange(parameters.ToArray());
        return (IReadOnlyList<LlmBatch>)ReadBatches(command);
    });

    public IReadOnlyList<LlmTask> TasksOfBatch(long batchId) => Read(connection =>
    {
        using var command = new NpgsqlCommand($"SELECT {TaskColumns} FROM tasks WHERE batch_id = @id ORDER BY id", connection);
        command.Parameters.Add(Long("id", batchId));
        return (IReadOnlyList<LlmTask>)ReadTasks(command);
    });

    public IReadOnlyList<LlmBatch> ClaimBatches(string owner, IReadOnlyCollection<long> ids, long leaseMs, IReadOnlyCollection<string> goneOwners) =>
        ids.Count == 0 || IsReadOnly ? [] : Write(tx =>
    {
        using var command = tx.Command($"""
            UPDATE batches SET lease_owner = @owner, lease_expires_at = {Now} + @lease
            WHERE id IN (SELECT id FROM batches
                         WHERE id = ANY(@ids) AND {Unfinished}
                             AND (lease_owner IS NULL OR lease_expires_at IS NULL OR lease_expires_at < {Now} OR lease_owner = ANY(@gone))
                         FOR UPDATE SKIP LOCKED)
            RETURNING {BatchColumns}
            """, Text("owner", owner), Long("lease", leaseMs), Longs("ids", ids), Texts("gone", goneOwners));
        var claimed = ReadBatches(command);
        claimed.Sort((a, b) => a.Id.CompareTo(b.Id));
        return (IReadOnlyList<LlmBatch>)claimed;
    });

    public IReadOnlyList<long> RenewBatchLeases(string owner, IReadOnlyCollection<long> held, long leaseMs) => held.Count == 0 ? [] : Write(tx =>
    {
        using var command = tx.Command($"""
            UPDATE batches SET lease_expires_at = {Now} + @lease
            WHERE id = ANY(@ids) AND lease_owner = @owner AND {Unfinished}
            RETURNING id
            """, Long("lease", leaseMs), Longs("ids", held), Text("owner", owner));
        using var reader = command.ExecuteReader();
        var kept = ReadIds(reader).ToHashSet();
        return (IReadOnlyList<long>)held.Where(id => !kept.Contains(id)).ToArray();
    });

    public int ReleaseBatches(string owner) => Write(tx =>
    {
        using var command = tx.Command($"UPDATE batches SET lease_owner = NULL, lease_expires_at = NULL WHERE lease_owner = @owner AND {Unfinished}", Text("owner", owner));
        return command.ExecuteNonQuery();
    });

    private List<LlmBatch> ReadBatches(NpgsqlCommand command)
    {
        using var reader = command.ExecuteReader();
        return StoreRows.Batches(reader, Path);
    }
}

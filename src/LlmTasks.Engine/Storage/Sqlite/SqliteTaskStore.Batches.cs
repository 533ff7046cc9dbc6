using System.Text.Json;
using LlmTasks.Batches;
using LlmTasks.Diagnostics;
using Microsoft.Data.Sqlite;

namespace LlmTasks.Storage.Sqlite;

/// <summary>Provider batches (<see cref="IBatchStore"/>) in the SQLite store.</summary>
internal sealed partial class SqliteTaskStore
{
    internal const string BatchColumns =
        "id, provider, model, endpoint, provider_batch_id, state, provider_status, request_count, completed_count, failed_count, " +
        "created_at, submitted_at, expires_at, ended_at, cost_nanousd, error, lease_owner, lease_expires_at";

    private const string Unfinished = "state IN ('Submitting', 'Validating', 'InProgress', 'Finalizing', 'Cancelling')";

    public LlmBatch? CreateBatch(NewBatch batch, IReadOnlyCollection<long> taskIds, string owner, long leaseMs) => taskIds.Count == 0 ? null : Write((connection, transaction) =>
    {
        var now = NowMs;
        var insert = Prepared(connection, transaction, """
            INSERT INTO batches (provider, model, endpoint, state, created_at, lease_owner, lease_expires_at)
            VALUES ($provider, $model, $endpoint, 'Submitting', $now, $owner, $expires)
            RETURNING id
            """);
        Bind(insert, "$provider", batch.Provider);
        Bind(insert, "$model", batch.Model);
        Bind(insert, "$endpoint", batch.Endpoint);
        Bind(insert, "$now", now);
        Bind(insert, "$owner", owner);
        Bind(insert, "$expires", now + leaseMs);
        var id = (long)insert.ExecuteScalar()!;

        var move = Prepared(connection, transaction, """
            UPDATE tasks SET state = 'Running', started_at = $now, batch_id = $batch, lease_owner = $batchOwner, lease_expires_at = NULL
            WHERE id IN (SELECT value FROM json_each($ids)) AND state = 'Pending' AND lease_owner = $owner AND cancel_requested = 0
            """);
        Bind(move, "$now", now);
        Bind(move, "$batch", id);
        Bind(move, "$batchOwner", BatchOwners.For(id));
        Bind(move, "$ids", JsonSerializer.Serialize(taskIds));
        Bind(move, "$owner", owner);
        var moved = move.ExecuteNonQuery();
        if (moved == 0)
        {
            var drop = Prepared(connection, transaction, "DELETE FROM batches WHERE id = $id");
            Bind(drop, "$id", id);
            drop.ExecuteNonQuery();
            return null;
        }

        var count = Prepared(connection, transaction, $"UPDATE batches SET request_count = $n WHERE id = $id RETURNING {BatchColumns}");
        Bind(count, "$n", moved);
        Bind(count, "$id", id);
        return ReadBatches(count).Single();
    });

    public LlmBatch? UpdateBatch(long batchId, string owner, BatchStatus status, long leaseMs) => Write((connection, transaction) =>
    {
        var now = NowMs;
        var command = Prepared(connection, transaction, $"""
            UPDATE batches SET provider_batch_id = $pid, state = $state, provider_status = $status, completed_count = $completed, failed_count = $failed,
                expires_at = coalesce($expiresAt, expires_at), error = $error, details = coalesce($details, details),
                submitted_at = coalesce(submitted_at, $now), lease_expires_at = $now + $lease
            WHERE id = $id AND lease_owner = $owner AND {Unfinished}
            RETURNING {BatchColumns}
            """);
        Bind(command, "$pid", status.BatchId);
        // The provider is done, but the results are not written yet: that is what Finalizing says here.
        Bind(command, "$state", (status.State.IsTerminal() ? LlmBatchState.Finalizing : status.State).ToString());
        Bind(command, "$status", status.ProviderStatus);
        Bind(command, "$completed", status.Completed);
        Bind(command, "$failed", status.Failed);
        Bind(command, "$expiresAt", status.ExpiresAt?.ToUnixTimeMilliseconds());
        Bind(command, "$error", Secrets.RedactOrNull(status.Error));
        Bind(command, "$details", Secrets.RedactOrNull(status.DetailsJson));
        Bind(command, "$now", now);
        Bind(command, "$lease", leaseMs);
        Bind(command, "$id", batchId);
        Bind(command, "$owner", owner);
        return ReadBatches(command).FirstOrDefault();
    });

    public (LlmBatch Batch, IReadOnlyList<LlmTask> Ended)? EndBatch(long batchId, string owner, LlmBatchState state, string? error, UnansweredTasks? unanswered) =>
        Write<(LlmBatch, IReadOnlyList<LlmTask>)?>((connection, transaction) =>
    {
        var now = NowMs;
        var held = Prepared(connection, transaction, $"SELECT coalesce(submitted_at, created_at) FROM batches WHERE id = $id AND lease_owner = $owner AND {Unfinished}");
        Bind(held, "$id", batchId);
        Bind(held, "$owner", owner);
        if (held.ExecuteScalar() is not long submitted)
        {
            return null;
        }

        var ended = new List<LlmTask>();
        if (unanswered is not null)
        {
            var batchOwner = BatchOwners.For(batchId);
            var open = Prepared(connection, transaction, "SELECT id, attempts FROM tasks WHERE batch_id = $id AND state = 'Running' AND lease_owner = $batchOwner ORDER BY id");
            Bind(open, "$id", batchId);
            Bind(open, "$batchOwner", batchOwner);
            var tasks = new List<(long Id, int Attempts)>();
            using (var reader = open.ExecuteReader())
            {
                while (reader.Read())
                {
                    tasks.Add((reader.GetInt64(0), reader.GetInt32(1)));
                }
            }

            foreach (var (id, attempts) in tasks)
            {
                InsertAttempt(connection, transaction, id, attempts + 1, new AttemptRecord
                {
                    Outcome = unanswered.Outcome,
                    StartedAtMs = submitted,
                    LatencyMs = now - submitted,
                    Error = unanswered.Error,
                    ErrorKind = unanswered.ErrorKind,
                    DetailsJson = $$"""{"batch":{{batchId}}}""",
                }, batchOwner);
                var end = Prepared(connection, transaction, $"""
                    UPDATE tasks SET state = $state, error = $error, error_kind = $kind, attempts = attempts + 1, completed_at = $now,
                        lease_owner = NULL, lease_expires_at = NULL
                    WHERE id = $id
                    RETURNING {TaskColumns}
                    """);
                Bind(end, "$state", unanswered.State.ToString());
                Bind(end, "$error", unanswered.Error);
                Bind(end, "$kind", unanswered.ErrorKind);
                Bind(end, "$now", now);
                Bind(end, "$id", id);
                ended.AddRange(ReadTasks(end));
            }
        }

        var finish = Prepared(connection, transaction, $"""
            UPDATE batches SET state = $state, error = coalesce($error, error), ended_at = $now, lease_owner = NULL, lease_expires_at = NULL,
                cost_nanousd = (SELECT sum(cost_nanousd) FROM tasks WHERE batch_id = $id),
                completed_count = (SELECT count(*) FROM tasks WHERE batch_id = $id AND state = 'Completed'),
                failed_count = (SELECT count(*) FROM tasks WHERE batch_id = $id AND state <> 'Completed')
            WHERE id = $id
            RETURNING {BatchColumns}
            """);
        Bind(finish, "$state", state.ToString());
        Bind(finish, "$error", Secrets.RedactOrNull(error));
        Bind(finish, "$now", now);
        Bind(finish, "$id", batchId);
        return (ReadBatches(finish).Single(), (IReadOnlyList<LlmTask>)ended);
    });

    public IReadOnlyList<LlmBatch> GetBatches(BatchQuery query) => Read(connection =>
    {
        using var command = connection.CreateCommand();
        var where = new List<string>();
        if (query.Ids is { } ids)
        {
            where.Add("id IN (SELECT value FROM json_each($ids))");
            command.Parameters.AddWithValue("$ids", JsonSerializer.Serialize(ids));
        }

        if (query.TaskIds is { } taskIds)
        {
            where.Add("id IN (SELECT batch_id FROM tasks WHERE id IN (SELECT value FROM json_each($tasks)) AND batch_id IS NOT NULL)");
            command.Parameters.AddWithValue("$tasks", JsonSerializer.Serialize(taskIds));
        }

        if (query.UnfinishedOnly)
        {
            where.Add(Unfinished);
        }

        if (query.States is { } states)
        {
            where.Add("state IN (SELECT value FROM json_each($states))");
            command.Parameters.AddWithValue("$states", JsonSerializer.Serialize(states.Select(s => s.ToString())));
        }

        var filter = where.Count == 0 ? string.Empty : " WHERE " + string.Join(" AND ", where);
        command.CommandText = query.Newest is { } newest
            ? $"SELECT * FROM (SELECT {BatchColumns} FROM batches{filter} ORDER BY id DESC LIMIT {newest}) ORDER BY id"
            : $"SELECT {BatchColumns} FROM batches{filter} ORDER BY id";
        return (IReadOnlyList<LlmBatch>)ReadBatches(command);
    });

    public IReadOnlyList<LlmTask> TasksOfBatch(long batchId) => Read(connection =>
    {
        using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {TaskColumns} FROM tasks WHERE batch_id = $id ORDER BY id";
        command.Parameters.AddWithValue("$id", batchId);
        return (IReadOnlyList<LlmTask>)ReadTasks(command);
    });

    public IReadOnlyList<LlmBatch> ClaimBatches(string owner, IReadOnlyCollection<long> ids, long leaseMs, IReadOnlyCollection<string> goneOwners) =>
        ids.Count == 0 || IsReadOnly ? [] : Write((connection, transaction) =>
    {
        var now = NowMs;
        var command = Prepared(connection, transaction, $"""
            UPDATE batches SET lease_owner = $owner, lease_expires_at = $expires
            WHERE id IN (SELECT value FROM json_each($ids)) AND {Unfinished}
                AND (lease_owner IS NULL OR lease_expires_at IS NULL OR lease_expires_at < $now OR lease_owner IN (SELECT value FROM json_each($gone)))
            RETURNING {BatchColumns}
            """);
        Bind(command, "$owner", owner);
        Bind(command, "$expires", now + leaseMs);
        Bind(command, "$ids", JsonSerializer.Serialize(ids));
        Bind(command, "$now", now);
        Bind(command, "$gone", JsonSerializer.Serialize(goneOwners));
        var claimed = ReadBatches(command);
        claimed.Sort((a, b) => a.Id.CompareTo(b.Id));
        return (IReadOnlyList<LlmBatch>)claimed;
    });

    public IReadOnlyList<long> RenewBatchLeases(string owner, IReadOnlyCollection<long> held, long leaseMs) => held.Count == 0 ? [] : Write((connection, transaction) =>
    {
        var command = Prepared(connection, transaction, $"""
            UPDATE batches SET lease_expires_at = $expires
            WHERE id IN (SELECT value FROM json_each($ids)) AND lease_owner = $owner AND {Unfinished}
            RETURNING id
            """);
        Bind(command, "$expires", NowMs + leaseMs);
        Bind(command, "$ids", JsonSerializer.Serialize(held));
        Bind(command, "$owner", owner);
        var kept = ReadIds(command).ToHashSet();
        return (IReadOnlyList<long>)held.Where(id => !kept.Contains(id)).ToArray();
    });

    public int ReleaseBatches(string owner) => Write((connection, transaction) =>
    {
        var command = Prepared(connection, transaction, $"UPDATE batches SET lease_owner = NULL, lease_expires_at = NULL WHERE lease_owner = $owner AND {Unfinished}");
        Bind(command, "$owner", owner);
        return command.ExecuteNonQuery();
    });

    private List<LlmBatch> ReadBatches(SqliteCommand command)
    {
        using var reader = command.ExecuteReader();
        return StoreRows.Batches(reader, Path);
    }
}

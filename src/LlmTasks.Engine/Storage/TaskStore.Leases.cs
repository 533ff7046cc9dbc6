namespace LlmTasks.Storage;

/// <summary>
/// The tasks a claim took over (ready to run), and the ones it ended: given up after too many
/// interruptions, or stopped (Stop-LlmTask) while no live process held them.
/// </summary>
internal sealed record ClaimResult(IReadOnlyList<LlmTask> Claimed, IReadOnlyList<LlmTask> Ended)
{
    public static ClaimResult Empty { get; } = new([], []);
}

public sealed partial class TaskStore
{
    /// <summary>
    /// SET clauses that send a task back to Pending with no lease, unless someone asked to stop it:
    /// then it ends Cancelled (a flag nobody would act on again must not strand it). Binds $now.
    /// </summary>
    private const string BackToPendingUnlessStopped = """
        state = CASE WHEN cancel_requested = 1 THEN 'Cancelled' ELSE 'Pending' END,
        started_at = CASE WHEN cancel_requested = 1 THEN started_at ELSE NULL END,
        completed_at = CASE WHEN cancel_requested = 1 THEN $now ELSE completed_at END,
        error = CASE WHEN cancel_requested = 1 THEN 'Stopped by Stop-LlmTask.' ELSE error END,
        error_kind = CASE WHEN cancel_requested = 1 THEN 'Cancelled' ELSE error_kind END,
        lease_owner = NULL, lease_expires_at = NULL
        """;

    /// <summary>
    /// Takes over work no live process holds: Pending tasks with no lease or an expired one, and
    /// Running tasks whose lease expired (their process died; the call is recorded as Interrupted and
    /// the task runs again, up to <paramref name="recoveryLimit"/> times, then fails).
    /// </summary>
    internal ClaimResult Claim(string owner, int limit, long leaseMs, int recoveryLimit)
    {
        if (limit <= 0 || IsReadOnly || !HasClaimableWork())
        {
            return ClaimResult.Empty;
        }

        return Write((connection, transaction) =>
        {
            var now = NowMs;
            var givenUp = new List<long>();
            var expired = Prepared(connection, transaction, """
                SELECT id, attempts, recoveries, coalesce(started_at, created_at), lease_owner
                FROM tasks WHERE state = 'Running' AND lease_expires_at < $now ORDER BY id LIMIT $limit
                """);
            Bind(expired, "$now", now);
            Bind(expired, "$limit", limit);
            var interrupted = new List<(long Id, int Attempts, int Recoveries, long Started, string? Owner)>();
            using (var reader = expired.ExecuteReader())
            {
                while (reader.Read())
                {
                    interrupted.Add((reader.GetInt64(0), reader.GetInt32(1), reader.GetInt32(2), reader.GetInt64(3), reader.IsDBNull(4) ? null : reader.GetString(4)));
                }
            }

            foreach (var task in interrupted)
            {
                var giveUp = task.Recoveries + 1 > recoveryLimit;
                var message = $"The process running the call ({task.Owner ?? "unknown"}) stopped before it ended.";
                InsertAttempt(connection, transaction, task.Id, task.Attempts + 1, new AttemptRecord
                {
                    Outcome = LlmAttemptOutcome.Interrupted,
                    Error = message,
                    ErrorKind = "Interrupted",
                    StartedAtMs = task.Started,
                    LatencyMs = now - task.Started,
                }, task.Owner);
                var update = Prepared(connection, transaction, giveUp
                    ? """
                      UPDATE tasks SET state = 'Failed', attempts = attempts + 1, recoveries = recoveries + 1,
                          error = $error, error_kind = 'Interrupted', completed_at = $now, lease_owner = NULL, lease_expires_at = NULL
                      WHERE id = $id
                      RETURNING state
                      """
                    : $"""
                      UPDATE tasks SET {BackToPendingUnlessStopped}, attempts = attempts + 1, recoveries = recoveries + 1
                      WHERE id = $id
                      RETURNING state
                      """);
                Bind(update, "$id", task.Id);
                Bind(update, "$now", now);
                if (giveUp)
                {
                    Bind(update, "$error", $"{message} It was interrupted {task.Recoveries + 1} times, more than the recovery limit of {recoveryLimit}; it was not run again.");
                }

                if (update.ExecuteScalar() is string state && state != nameof(LlmTaskState.Pending))
                {
                    givenUp.Add(task.Id);
                }
            }

            // Stopped while nobody held them (the process that had them exited or died): they end Cancelled here.
            var stopped = Prepared(connection, transaction, """
                UPDATE tasks SET state = 'Cancelled', completed_at = $now, error = 'Stopped by Stop-LlmTask.', error_kind = 'Cancelled',
                    lease_owner = NULL, lease_expires_at = NULL
                WHERE state = 'Pending' AND cancel_requested = 1 AND (lease_expires_at IS NULL OR lease_expires_at < $now)
                RETURNING id
                """);
            Bind(stopped, "$now", now);
            using (var reader = stopped.ExecuteReader())
            {
                while (reader.Read())
                {
                    givenUp.Add(reader.GetInt64(0));
                }
            }

            var claim = Prepared(connection, transaction, $"""
                UPDATE tasks SET lease_owner = $owner, lease_expires_at = $expires
                WHERE id IN (SELECT id FROM tasks
                             WHERE state = 'Pending' AND (lease_expires_at IS NULL OR lease_expires_at < $now) AND cancel_requested = 0
                             ORDER BY id LIMIT $limit)
                RETURNING {TaskColumns}
                """);
            Bind(claim, "$owner", owner);
            Bind(claim, "$expires", now + leaseMs);
            Bind(claim, "$now", now);
            Bind(claim, "$limit", limit);
            var claimed = ReadTasks(claim);
            claimed.Sort((a, b) => a.Id.CompareTo(b.Id));

            IReadOnlyList<LlmTask> failed = [];
            if (givenUp.Count > 0)
            {
                var read = Prepared(connection, transaction, $"SELECT {TaskColumns} FROM tasks WHERE id IN (SELECT value FROM json_each($ids))");
                Bind(read, "$ids", System.Text.Json.JsonSerializer.Serialize(givenUp));
                failed = ReadTasks(read);
            }

            return new ClaimResult(claimed, failed);
        });
    }

    /// <summary>A read-only look first, so idle processes do not take the write lock every poll.</summary>
    private bool HasClaimableWork() => Read(connection =>
    {
        using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT EXISTS (SELECT 1 FROM tasks
                           WHERE state IN ('Pending', 'Running') AND (lease_expires_at IS NULL OR lease_expires_at < $now))
            """;
        command.Parameters.AddWithValue("$now", NowMs);
        return Convert.ToInt64(command.ExecuteScalar()) != 0;
    });

    /// <summary>
    /// Extends the leases of the tasks this owner holds in memory (only those: a task it dropped must
    /// expire so that another pass can take it). Returns the held tasks that somebody asked to stop, and
    /// those no longer this owner's (stopped while queued, finished or taken over elsewhere): both are
    /// to be stopped here, so that no call is made, or goes on, for a task another process decided.
    /// </summary>
    internal (IReadOnlyList<long> StopRequested, IReadOnlyList<long> Lost) RenewLeases(string owner, IReadOnlyCollection<long> held, long leaseMs) =>
        Write((connection, transaction) =>
    {
        var ids = System.Text.Json.JsonSerializer.Serialize(held);
        var renew = Prepared(connection, transaction, """
            UPDATE tasks SET lease_expires_at = $expires
            WHERE id IN (SELECT value FROM json_each($ids)) AND lease_owner = $owner AND state IN ('Pending', 'Running')
            """);
        Bind(renew, "$expires", NowMs + leaseMs);
        Bind(renew, "$owner", owner);
        Bind(renew, "$ids", ids);
        renew.ExecuteNonQuery();

        var stop = Prepared(connection, transaction, """
            SELECT id FROM tasks
            WHERE id IN (SELECT value FROM json_each($ids)) AND lease_owner = $owner AND cancel_requested = 1 AND state IN ('Pending', 'Running')
            """);
        Bind(stop, "$owner", owner);
        Bind(stop, "$ids", ids);
        var lost = Prepared(connection, transaction, """
            SELECT value FROM json_each($ids)
            WHERE value NOT IN (SELECT id FROM tasks
                                WHERE id IN (SELECT value FROM json_each($ids)) AND lease_owner = $owner AND state IN ('Pending', 'Running'))
            """);
        Bind(lost, "$owner", owner);
        Bind(lost, "$ids", ids);
        return ((IReadOnlyList<long>)ReadIds(stop), (IReadOnlyList<long>)ReadIds(lost));
    });

    private static List<long> ReadIds(Microsoft.Data.Sqlite.SqliteCommand command)
    {
        using var reader = command.ExecuteReader();
        var ids = new List<long>();
        while (reader.Read())
        {
            ids.Add(reader.GetInt64(0));
        }

        return ids;
    }

    /// <summary>
    /// Hands everything this owner holds back to the store (a process shutting down): Pending tasks
    /// lose their lease, Running ones get an Interrupted attempt and become Pending, so the next
    /// process on the store takes them at once instead of waiting for the lease to expire.
    /// </summary>
    internal int Release(string owner) => Write((connection, transaction) =>
    {
        var now = NowMs;
        var running = Prepared(connection, transaction, """
            SELECT id, attempts, coalesce(started_at, created_at) FROM tasks WHERE lease_owner = $owner AND state = 'Running'
            """);
        Bind(running, "$owner", owner);
        var interrupted = new List<(long Id, int Attempts, long Started)>();
        using (var reader = running.ExecuteReader())
        {
            while (reader.Read())
            {
                interrupted.Add((reader.GetInt64(0), reader.GetInt32(1), reader.GetInt64(2)));
            }
        }

        foreach (var task in interrupted)
        {
            InsertAttempt(connection, transaction, task.Id, task.Attempts + 1, new AttemptRecord
            {
                Outcome = LlmAttemptOutcome.Interrupted,
                Error = "The process running the call shut down before it ended; the task went back to Pending.",
                ErrorKind = "Interrupted",
                StartedAtMs = task.Started,
                LatencyMs = now - task.Started,
            }, owner);
        }

        var release = Prepared(connection, transaction, $"""
            UPDATE tasks SET attempts = attempts + (CASE WHEN state = 'Running' THEN 1 ELSE 0 END), {BackToPendingUnlessStopped}
            WHERE lease_owner = $owner AND state IN ('Pending', 'Running')
            """);
        Bind(release, "$owner", owner);
        Bind(release, "$now", now);
        return release.ExecuteNonQuery();
    });
}

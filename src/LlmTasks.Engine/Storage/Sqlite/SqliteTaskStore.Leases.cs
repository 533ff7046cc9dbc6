namespace LlmTasks.Storage.Sqlite;

internal sealed partial class SqliteTaskStore
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
        partial_output = NULL, lease_owner = NULL, lease_expires_at = NULL
        """;

    /// <summary>
    /// What a claim may take, as SQL over tasks: no lease, an expired one, or one whose owner is gone
    /// (it ran on this machine and its process ended). Binds $now and $gone.
    /// </summary>
    private const string Takeable =
        "(lease_owner IS NULL OR lease_expires_at IS NULL OR lease_expires_at < $now OR lease_owner IN (SELECT value FROM json_each($gone)))";

    /// <summary>
    /// Takes over work no live process holds, within <paramref name="scope"/>: Pending tasks with no
    /// lease, an expired one or one of a <paramref name="goneOwners">gone owner</paramref>, and Running
    /// tasks whose lease expired or whose owner is gone (their process died; the call is recorded as
    /// Interrupted and the task runs again, up to <paramref name="recoveryLimit"/> times, then fails).
    /// </summary>
    public ClaimResult Claim(string owner, int limit, long leaseMs, int recoveryLimit, ClaimScope? scope = null, IReadOnlyCollection<string>? goneOwners = null)
    {
        scope ??= ClaimScope.Any;
        if (limit <= 0 || IsReadOnly || scope.Ids is { Count: 0 })
        {
            return ClaimResult.Empty;
        }

        var gone = System.Text.Json.JsonSerializer.Serialize(goneOwners ?? []);
        return Write((connection, transaction) =>
        {
            var now = NowMs;
            var ids = scope.Filters ? FilteredCandidates(connection, transaction, scope, now, gone, limit) : scope.Ids;
            if (ids is { Count: 0 })
            {
                return ClaimResult.Empty;
            }

            var inScope = ids is null ? string.Empty : " AND id IN (SELECT value FROM json_each($ids))";
            var idsJson = ids is null ? null : System.Text.Json.JsonSerializer.Serialize(ids);
            void BindScope(Microsoft.Data.Sqlite.SqliteCommand command)
            {
                Bind(command, "$now", now);
                Bind(command, "$gone", gone);
                if (idsJson is not null)
                {
                    Bind(command, "$ids", idsJson);
                }
            }

            var givenUp = new List<long>();
            var expired = Prepared(connection, transaction, $"""
                SELECT id, attempts, recoveries, coalesce(started_at, created_at), lease_owner, lease_expires_at < $now
                FROM tasks WHERE state = 'Running' AND (lease_expires_at < $now OR lease_owner IN (SELECT value FROM json_each($gone))){inScope}
                ORDER BY id LIMIT $limit
                """);
            BindScope(expired);
            Bind(expired, "$limit", limit);
            var interrupted = new List<(long Id, int Attempts, int Recoveries, long Started, string? Owner, bool Expired)>();
            using (var reader = expired.ExecuteReader())
            {
                while (reader.Read())
                {
                    interrupted.Add((reader.GetInt64(0), reader.GetInt32(1), reader.GetInt32(2), reader.GetInt64(3),
                        reader.IsDBNull(4) ? null : reader.GetString(4), !reader.IsDBNull(5) && reader.GetInt64(5) != 0));
                }
            }

            foreach (var task in interrupted)
            {
                var giveUp = task.Recoveries + 1 > recoveryLimit;
                var message = StoreTexts.Interrupted(task.Owner, task.Expired);
                InsertAttempt(connection, transaction, task.Id, task.Attempts + 1, StoreTexts.InterruptedAttempt(message, task.Started, now), task.Owner);
                var update = Prepared(connection, transaction, giveUp
                    ? """
                      UPDATE tasks SET state = 'Failed', attempts = attempts + 1, recoveries = recoveries + 1, partial_output = NULL,
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
                    Bind(update, "$error", StoreTexts.GivenUp(message, task.Recoveries + 1, recoveryLimit));
                }

                if (update.ExecuteScalar() is string state && state != nameof(LlmTaskState.Pending))
                {
                    givenUp.Add(task.Id);
                }
            }

            // Stopped while nobody held them (the process that had them exited or died): they end Cancelled here.
            var stopped = Prepared(connection, transaction, $"""
                UPDATE tasks SET state = 'Cancelled', completed_at = $now, error = 'Stopped by Stop-LlmTask.', error_kind = 'Cancelled',
                    lease_owner = NULL, lease_expires_at = NULL
                WHERE state = 'Pending' AND cancel_requested = 1 AND {Takeable}{inScope}
                RETURNING id
                """);
            BindScope(stopped);
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
                             WHERE state = 'Pending' AND {Takeable} AND cancel_requested = 0{inScope}
                             ORDER BY id LIMIT $limit)
                RETURNING {TaskColumns}
                """);
            BindScope(claim);
            Bind(claim, "$owner", owner);
            Bind(claim, "$expires", now + leaseMs);
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

            return new ClaimResult(claimed, failed) { Recovered = interrupted.Select(t => (t.Id, t.Owner, !t.Expired)).ToArray() };
        });
    }

    /// <summary>
    /// The ids of takeable tasks whose name and model match the scope's wildcards (PowerShell's rules,
    /// case-insensitive), oldest first, at most <paramref name="limit"/>: read in id order until enough match.
    /// </summary>
    private List<long> FilteredCandidates(Microsoft.Data.Sqlite.SqliteConnection connection, Microsoft.Data.Sqlite.SqliteTransaction transaction,
        ClaimScope scope, long now, string gone, int limit)
    {
        var names = scope.Names is { Count: > 0 } n ? n.Select(Wildcard.ToRegex).ToArray() : null;
        var models = scope.Models is { Count: > 0 } m ? m.Select(Wildcard.ToRegex).ToArray() : null;
        var inIds = scope.Ids is null ? string.Empty : " AND id IN (SELECT value FROM json_each($ids))";
        var command = Prepared(connection, transaction, $"""
            SELECT id, name, model FROM tasks
            WHERE state IN ('Pending', 'Running') AND {BatchOwners.NotHeldSql} AND {Takeable}{inIds}
            ORDER BY id
            """);
        Bind(command, "$now", now);
        Bind(command, "$gone", gone);
        if (scope.Ids is not null)
        {
            Bind(command, "$ids", System.Text.Json.JsonSerializer.Serialize(scope.Ids));
        }

        var ids = new List<long>();
        using var reader = command.ExecuteReader();
        while (ids.Count < limit && reader.Read())
        {
            var name = reader.IsDBNull(1) ? null : reader.GetString(1);
            var model = reader.GetString(2);
            if ((names is null || (name is not null && names.Any(r => r.IsMatch(name)))) && (models is null || models.Any(r => r.IsMatch(model))))
            {
                ids.Add(reader.GetInt64(0));
            }
        }

        return ids;
    }

    /// <summary>
    /// Who holds the store's unfinished tasks: one row per owner (null for the unleased ones) with
    /// the count and the earliest lease end. A read: idle passes never take the write lock.
    /// </summary>
    public IReadOnlyList<LeaseHolder> LeaseHolders() => Read(connection =>
    {
        using var command = connection.CreateCommand();
        command.CommandText = $"""
            SELECT lease_owner, count(*), min(lease_expires_at) FROM tasks
            WHERE state IN ('Pending', 'Running') AND {BatchOwners.NotHeldSql}
            GROUP BY lease_owner
            """;
        using var reader = command.ExecuteReader();
        var holders = new List<LeaseHolder>();
        while (reader.Read())
        {
            holders.Add(new LeaseHolder(reader.IsDBNull(0) ? null : reader.GetString(0), reader.GetInt32(1), reader.IsDBNull(2) ? null : reader.GetInt64(2)));
        }

        return (IReadOnlyList<LeaseHolder>)holders;
    });

    public int ActiveHolders(string scope) => Read(connection =>
    {
        using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT count(DISTINCT lease_owner) FROM tasks
            WHERE state IN ('Pending', 'Running') AND lease_owner IS NOT NULL AND lease_expires_at > $now
              AND (model = $scope OR provider = $scope)
            """;
        command.Parameters.AddWithValue("$now", NowMs);
        command.Parameters.AddWithValue("$scope", scope);
        return Convert.ToInt32(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    });

    /// <summary>The leases of those of these tasks that are unfinished (finished and removed ones are left out).</summary>
    public IReadOnlyList<LeaseState> LeaseStates(IReadOnlyCollection<long> ids) => ids.Count == 0 ? [] : Read(connection =>
    {
        using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT id, state, lease_owner, lease_expires_at FROM tasks
            WHERE id IN (SELECT value FROM json_each($ids)) AND state IN ('Pending', 'Running')
            """;
        command.Parameters.AddWithValue("$ids", System.Text.Json.JsonSerializer.Serialize(ids));
        using var reader = command.ExecuteReader();
        var states = new List<LeaseState>();
        while (reader.Read())
        {
            states.Add(new LeaseState(reader.GetInt64(0), reader.GetString(1) == nameof(LlmTaskState.Running),
                reader.IsDBNull(2) ? null : reader.GetString(2), reader.IsDBNull(3) ? null : reader.GetInt64(3)));
        }

        return (IReadOnlyList<LeaseState>)states;
    });

    /// <summary>
    /// Extends the leases of the tasks this owner holds in memory (only those: a task it dropped must
    /// expire so that another pass can take it). Returns the held tasks that somebody asked to stop, and
    /// those no longer this owner's (stopped while queued, finished or taken over elsewhere): both are
    /// to be stopped here, so that no call is made, or goes on, for a task another process decided.
    /// </summary>
    public (IReadOnlyList<long> StopRequested, IReadOnlyList<long> Lost) RenewLeases(string owner, IReadOnlyCollection<long> held, long leaseMs) =>
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
    /// Hands everything this owner holds back to the store (a process shutting down), or only the tasks
    /// <paramref name="ids"/> among them (a worker that stops): Pending tasks lose their lease, Running ones
    /// get an Interrupted attempt and become Pending, so the next process that waits for them or runs the
    /// store's work takes them at once instead of waiting for the lease to expire. Returns how many.
    /// </summary>
    public int Release(string owner, IReadOnlyCollection<long>? ids = null) => ids is { Count: 0 } ? 0 : Write((connection, transaction) =>
    {
        var now = NowMs;
        var only = ids is null ? string.Empty : " AND id IN (SELECT value FROM json_each($ids))";
        var idsJson = ids is null ? null : System.Text.Json.JsonSerializer.Serialize(ids);
        var running = Prepared(connection, transaction, $"""
            SELECT id, attempts, coalesce(started_at, created_at) FROM tasks WHERE lease_owner = $owner AND state = 'Running'{only}
            """);
        Bind(running, "$owner", owner);
        if (idsJson is not null)
        {
            Bind(running, "$ids", idsJson);
        }

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
            InsertAttempt(connection, transaction, task.Id, task.Attempts + 1, StoreTexts.InterruptedAttempt(StoreTexts.ShutDown, task.Started, now), owner);
        }

        var release = Prepared(connection, transaction, $"""
            UPDATE tasks SET attempts = attempts + (CASE WHEN state = 'Running' THEN 1 ELSE 0 END), {BackToPendingUnlessStopped}
            WHERE lease_owner = $owner AND state IN ('Pending', 'Running'){only}
            """);
        Bind(release, "$owner", owner);
        Bind(release, "$now", now);
        if (idsJson is not null)
        {
            Bind(release, "$ids", idsJson);
        }

        return release.ExecuteNonQuery();
    });
}

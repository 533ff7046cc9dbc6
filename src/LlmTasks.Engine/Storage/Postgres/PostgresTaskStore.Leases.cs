using Npgsql;

namespace LlmTasks.Storage.Postgres;

internal sealed partial class PostgresTaskStore
{
    /// <summary>What a claim may take, as SQL over tasks: no lease, an expired one (on the server's clock), or a gone owner's. Binds @gone.</summary>
    private const string Takeable = $"(lease_owner IS NULL OR lease_expires_at IS NULL OR lease_expires_at < {Now} OR lease_owner = ANY(@gone))";

    /// <summary>
    /// Takes over work no live process holds (see <see cref="ITaskStore.Claim"/>). Every row it changes is locked
    /// with <c>FOR UPDATE SKIP LOCKED</c>: claimers on any number of machines take disjoint sets at once, and none
    /// waits for another; a row another transaction is changing is left for the next pass.
    /// </summary>
    public ClaimResult Claim(string owner, int limit, long leaseMs, int recoveryLimit, ClaimScope? scope = null, IReadOnlyCollection<string>? goneOwners = null)
    {
        scope ??= ClaimScope.Any;
        if (limit <= 0 || IsReadOnly || scope.Ids is { Count: 0 })
        {
            return ClaimResult.Empty;
        }

        var gone = (goneOwners ?? []).ToArray();
        return Write(tx =>
        {
            var ids = scope.Filters ? FilteredCandidates(tx, scope, gone, limit) : scope.Ids;
            if (ids is { Count: 0 })
            {
                return ClaimResult.Empty;
            }

            var inScope = ids is null ? string.Empty : " AND id = ANY(@ids)";
            NpgsqlParameter[] Scope() => ids is null ? [Texts("gone", gone)] : [Texts("gone", gone), Longs("ids", ids)];

            var interrupted = new List<(long Id, int Attempts, int Recoveries, long Started, string? Owner, bool Expired)>();
            using (var expired = tx.Command($"""
                SELECT id, attempts, recoveries, coalesce(started_at, created_at), lease_owner, coalesce(lease_expires_at < {Now}, false)
                FROM tasks WHERE state = 'Running' AND (lease_expires_at < {Now} OR lease_owner = ANY(@gone)){inScope}
                ORDER BY id LIMIT @limit FOR UPDATE SKIP LOCKED
                """, [.. Scope(), Int("limit", limit)]))
            using (var reader = expired.ExecuteReader())
            {
                while (reader.Read())
                {
                    interrupted.Add((reader.GetInt64(0), reader.GetInt32(1), reader.GetInt32(2), reader.GetInt64(3),
                        reader.IsDBNull(4) ? null : reader.GetString(4), reader.GetBoolean(5)));
                }
            }

            var givenUp = new List<long>();
            if (interrupted.Count > 0)
            {
                var now = NowMs;
                using var batch = tx.Batch();
                foreach (var task in interrupted)
                {
                    var giveUp = task.Recoveries + 1 > recoveryLimit;
                    var message = StoreTexts.Interrupted(task.Owner, task.Expired);
                    AddAttempt(batch, task.Id, task.Attempts + 1, StoreTexts.InterruptedAttempt(message, task.Started, now), task.Owner);
                    batch.BatchCommands.Add(giveUp
                        ? BatchCommand($"""
                            UPDATE tasks SET state = 'Failed', attempts = attempts + 1, recoveries = recoveries + 1, partial_output = NULL,
                                error = @error, error_kind = 'Interrupted', completed_at = {Now}, lease_owner = NULL, lease_expires_at = NULL
                            WHERE id = @id
                            RETURNING id, state
                            """, Long("id", task.Id), Text("error", StoreTexts.GivenUp(message, task.Recoveries + 1, recoveryLimit)))
                        : BatchCommand($"""
                            UPDATE tasks SET {BackToPendingUnlessStopped}, attempts = attempts + 1, recoveries = recoveries + 1
                            WHERE id = @id
                            RETURNING id, state
                            """, Long("id", task.Id)));
                }

                using var reader = batch.ExecuteReader();
                do
                {
                    while (reader.FieldCount == 2 && reader.Read())
                    {
                        if (reader.GetString(1) != nameof(LlmTaskState.Pending))
                        {
                            givenUp.Add(reader.GetInt64(0));
                        }
                    }
                }
                while (reader.NextResult());
            }

            // Stopped while nobody held them (the process that had them exited or died): they end Cancelled here.
            using (var stopped = tx.Command($"""
                UPDATE tasks SET state = 'Cancelled', completed_at = {Now}, error = '{StoreTexts.Stopped}', error_kind = 'Cancelled',
                    lease_owner = NULL, lease_expires_at = NULL
                WHERE id IN (SELECT id FROM tasks WHERE state = 'Pending' AND cancel_requested = 1 AND {Takeable}{inScope} FOR UPDATE SKIP LOCKED)
                RETURNING id
                """, Scope()))
            using (var reader = stopped.ExecuteReader())
            {
                givenUp.AddRange(ReadIds(reader));
            }

            List<LlmTask> claimed;
            using (var claim = tx.Command($"""
                UPDATE tasks SET lease_owner = @owner, lease_expires_at = {Now} + @lease
                WHERE id IN (SELECT id FROM tasks
                             WHERE state = 'Pending' AND {Takeable} AND cancel_requested = 0{inScope}
                             ORDER BY id LIMIT @limit FOR UPDATE SKIP LOCKED)
                RETURNING {TaskColumns}
                """, [.. Scope(), Text("owner", owner), Long("lease", leaseMs), Int("limit", limit)]))
            {
                claimed = ReadTasks(claim);
            }

            claimed.Sort((a, b) => a.Id.CompareTo(b.Id));
            IReadOnlyList<LlmTask> failed = [];
            if (givenUp.Count > 0)
            {
                using var read = tx.Command($"SELECT {TaskColumns} FROM tasks WHERE id = ANY(@ids)", Longs("ids", givenUp));
                failed = ReadTasks(read);
                tx.Notify.Add(Kind(StoreChange.TasksFinished));
            }

            if (interrupted.Count > givenUp.Count)
            {
                tx.Notify.Add(Kind(StoreChange.TasksAdded)); // interrupted ones back to Pending: work for any worker
            }

            return new ClaimResult(claimed, failed) { Recovered = interrupted.Select(t => (t.Id, t.Owner, !t.Expired)).ToArray() };
        });
    }

    /// <summary>
    /// The ids of takeable tasks whose name and model match the scope's wildcards (PowerShell's rules, case-insensitive),
    /// oldest first, at most <paramref name="limit"/>: read in id order until enough match.
    /// </summary>
    private static List<long> FilteredCandidates(Tx tx, ClaimScope scope, string[] gone, int limit)
    {
        var names = scope.Names is { Count: > 0 } n ? n.Select(Wildcard.ToRegex).ToArray() : null;
        var models = scope.Models is { Count: > 0 } m ? m.Select(Wildcard.ToRegex).ToArray() : null;
        var inIds = scope.Ids is null ? string.Empty : " AND id = ANY(@ids)";
        using var command = tx.Command($"""
            SELECT id, name, model FROM tasks
            WHERE state IN ('Pending', 'Running') AND {BatchOwners.NotHeldSql} AND {Takeable}{inIds}
            ORDER BY id
            """, Texts("gone", gone));
        if (scope.Ids is not null)
        {
            command.Parameters.Add(Longs("ids", scope.Ids));
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

    public IReadOnlyList<LeaseHolder> LeaseHolders() => Read(connection =>
    {
        using var command = new NpgsqlCommand($"""
            SELECT lease_owner, count(*), min(lease_expires_at) FROM tasks
            WHERE state IN ('Pending', 'Running') AND {BatchOwners.NotHeldSql}
            GROUP BY lease_owner
            """, connection);
        using var reader = command.ExecuteReader();
        var holders = new List<LeaseHolder>();
        while (reader.Read())
        {
            holders.Add(new LeaseHolder(reader.IsDBNull(0) ? null : reader.GetString(0), (int)reader.GetInt64(1), reader.IsDBNull(2) ? null : reader.GetInt64(2)));
        }

        return (IReadOnlyList<LeaseHolder>)holders;
    });

    public int ActiveHolders(string scope) => Read(connection =>
    {
        using var command = new NpgsqlCommand("""
            SELECT count(DISTINCT lease_owner) FROM tasks
            WHERE state IN ('Pending', 'Running') AND lease_owner IS NOT NULL AND lease_expires_at > (extract(epoch FROM clock_timestamp()) * 1000)::bigint
              AND (model = @scope OR provider = @scope)
            """, connection);
        command.Parameters.AddWithValue("scope", scope);
        return (int)(long)command.ExecuteScalar()!;
    });

    public IReadOnlyList<LeaseState> LeaseStates(IReadOnlyCollection<long> ids) => ids.Count == 0 ? [] : Read(connection =>
    {
        using var command = new NpgsqlCommand("""
            SELECT id, state, lease_owner, lease_expires_at FROM tasks
            WHERE id = ANY(@ids) AND state IN ('Pending', 'Running')
            """, connection);
        command.Parameters.Add(Longs("ids", ids));
        using var reader = command.ExecuteReader();
        var states = new List<LeaseState>();
        while (reader.Read())
        {
            states.Add(new LeaseState(reader.GetInt64(0), reader.GetString(1) == nameof(LlmTaskState.Running),
                reader.IsDBNull(2) ? null : reader.GetString(2), reader.IsDBNull(3) ? null : reader.GetInt64(3)));
        }

        return (IReadOnlyList<LeaseState>)states;
    });

    /// <summary>Extends this owner's leases on the tasks it holds (locked in id order), and says which of them were asked to stop or are no longer its own.</summary>
    public (IReadOnlyList<long> StopRequested, IReadOnlyList<long> Lost) RenewLeases(string owner, IReadOnlyCollection<long> held, long leaseMs) => Write(tx =>
    {
        // The reads first (the renewal changes neither answer), so the batch's result sets are the two reads.
        using var batch = tx.Batch();
        batch.BatchCommands.Add(BatchCommand($"""
            SELECT id FROM tasks
            WHERE id = ANY(@ids) AND {HeldBy} AND cancel_requested = 1 AND state IN ('Pending', 'Running')
            """, Longs("ids", held), Text("owner", owner)));
        batch.BatchCommands.Add(BatchCommand($"""
            SELECT held FROM unnest(@ids) AS held
            WHERE held NOT IN (SELECT id FROM tasks WHERE id = ANY(@ids) AND {HeldBy} AND state IN ('Pending', 'Running'))
            """, Longs("ids", held), Text("owner", owner)));
        batch.BatchCommands.Add(BatchCommand($"""
            UPDATE tasks SET lease_expires_at = {Now} + @lease
            WHERE id IN (SELECT id FROM tasks WHERE id = ANY(@ids) AND {HeldBy} AND state IN ('Pending', 'Running') ORDER BY id FOR UPDATE)
            """, Long("lease", leaseMs), Longs("ids", held), Text("owner", owner)));
        using var reader = batch.ExecuteReader();
        var stop = ReadIds(reader);
        reader.NextResult();
        var lost = ReadIds(reader);
        return ((IReadOnlyList<long>)stop, (IReadOnlyList<long>)lost);
    });

    public int Release(string owner, IReadOnlyCollection<long>? ids = null) => ids is { Count: 0 } ? 0 : Write(tx =>
    {
        var only = ids is null ? string.Empty : " AND id = ANY(@ids)";
        NpgsqlParameter[] Scope() => ids is null ? [Text("owner", owner)] : [Text("owner", owner), Longs("ids", ids)];
        var interrupted = new List<(long Id, int Attempts, long Started)>();
        using (var running = tx.Command($"""
            SELECT id, attempts, coalesce(started_at, created_at), state FROM tasks
            WHERE lease_owner = @owner AND state IN ('Pending', 'Running'){only}
            ORDER BY id FOR UPDATE
            """, Scope()))
        using (var reader = running.ExecuteReader())
        {
            while (reader.Read())
            {
                if (reader.GetString(3) == nameof(LlmTaskState.Running))
                {
                    interrupted.Add((reader.GetInt64(0), reader.GetInt32(1), reader.GetInt64(2)));
                }
            }
        }

        var now = NowMs;
        using var batch = tx.Batch();
        foreach (var task in interrupted)
        {
            AddAttempt(batch, task.Id, task.Attempts + 1, StoreTexts.InterruptedAttempt(StoreTexts.ShutDown, task.Started, now), owner);
        }

        var release = BatchCommand($"""
            UPDATE tasks SET attempts = attempts + (CASE WHEN state = 'Running' THEN 1 ELSE 0 END), {BackToPendingUnlessStopped}
            WHERE lease_owner = @owner AND state IN ('Pending', 'Running'){only}
            """, Scope());
        batch.BatchCommands.Add(release);
        batch.ExecuteNonQuery();
        return release.RecordsAffected;
    }, StoreChange.TasksAdded, StoreChange.TasksFinished);
}

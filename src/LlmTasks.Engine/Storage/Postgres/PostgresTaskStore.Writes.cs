using LlmTasks.Diagnostics;
using Npgsql;

namespace LlmTasks.Storage.Postgres;

internal sealed partial class PostgresTaskStore
{
    /// <summary>SET clauses that send a task back to Pending with no lease, unless someone asked to stop it: then it ends Cancelled.</summary>
    private const string BackToPendingUnlessStopped = $"""
        state = CASE WHEN cancel_requested = 1 THEN 'Cancelled' ELSE 'Pending' END,
        started_at = CASE WHEN cancel_requested = 1 THEN started_at ELSE NULL END,
        completed_at = CASE WHEN cancel_requested = 1 THEN {Now} ELSE completed_at END,
        error = CASE WHEN cancel_requested = 1 THEN '{StoreTexts.Stopped}' ELSE error END,
        error_kind = CASE WHEN cancel_requested = 1 THEN 'Cancelled' ELSE error_kind END,
        partial_output = NULL, lease_owner = NULL, lease_expires_at = NULL
        """;

    private const string AddUsage = """
        input_tokens = CASE WHEN @in IS NULL THEN input_tokens ELSE coalesce(input_tokens, 0) + @in END,
        output_tokens = CASE WHEN @out IS NULL THEN output_tokens ELSE coalesce(output_tokens, 0) + @out END,
        cost_nanousd = CASE WHEN @cost IS NULL THEN cost_nanousd ELSE coalesce(cost_nanousd, 0) + @cost END
        """;

    public LlmTask Insert(LlmTaskRequest request, string provider, string? owner, long? leaseMs) =>
        Apply([new InsertTask(request, provider, owner, leaseMs)])[0]!;

    /// <summary>
    /// Applies the writes in order in one transaction, in as few round trips as the order allows: the writes are
    /// taken in rounds (a task's first write in the first round, its second in the next …), each round's statements
    /// sent as one batch in task id order (rows locked in one order, so batches of processes rarely deadlock), then
    /// the attempt and check rows they call for as another.
    /// </summary>
    public LlmTask?[] Apply(IReadOnlyList<StoreWrite> writes)
    {
        var notify = new List<StoreChange>();
        if (writes.Any(w => w is InsertTask or FinishAttempt { FinalState: null }))
        {
            notify.Add(StoreChange.TasksAdded);
        }

        if (writes.Any(w => w is FinishAttempt { FinalState: not null }))
        {
            notify.Add(StoreChange.TasksFinished);
        }

        return Write(tx => ApplyRounds(tx, writes), [.. notify]);
    }

    private LlmTask?[] ApplyRounds(Tx tx, IReadOnlyList<StoreWrite> writes)
    {
        var results = new LlmTask?[writes.Count];
        var rounds = new List<List<int>>();
        var seen = new Dictionary<long, int>();
        for (var i = 0; i < writes.Count; i++)
        {
            var round = 0;
            if (writes[i] is not InsertTask)
            {
                seen[writes[i].TaskId] = (round = seen.GetValueOrDefault(writes[i].TaskId)) + 1;
            }

            while (rounds.Count <= round)
            {
                rounds.Add([]);
            }

            rounds[round].Add(i);
        }

        foreach (var round in rounds)
        {
            var order = round.OrderBy(i => writes[i].TaskId).ToArray();
            var inserts = order.Where(i => writes[i] is InsertTask).ToArray();
            var updates = inserts.Length > 1 ? order.Where(i => writes[i] is not InsertTask).ToArray() : order;
            Guid[] keys = [];
            using (var batch = tx.Batch())
            {
                if (inserts.Length > 1)
                {
                    batch.BatchCommands.Add(InsertManyCommand(inserts.Select(i => (InsertTask)writes[i]).ToArray(), out keys));
                }

                foreach (var i in updates)
                {
                    batch.BatchCommands.Add(writes[i] switch
                    {
                        InsertTask insert => InsertCommand(insert),
                        MarkRunning run => MarkRunningCommand(run),
                        FinishAttempt finish => FinishCommand(finish),
                        RecordAttempt record => RecordCommand(record),
                        SavePartialOutput partial => PartialCommand(partial),
                        _ => throw new ArgumentOutOfRangeException(nameof(writes), writes[i], "Unknown store write."),
                    });
                }

                if (tx.Notify.Count > 0 && !tx.NotifySent)
                {
                    batch.BatchCommands.Add(tx.NotifyCommand()); // sent with the first statements, delivered at commit
                }

                using var reader = batch.ExecuteReader();
                if (inserts.Length > 1)
                {
                    ReadInsertedMany(reader, inserts, keys, writes, results);
                    reader.NextResult();
                }

                foreach (var i in updates)
                {
                    results[i] = writes[i] switch
                    {
                        InsertTask insert => ReadInserted(reader, insert),
                        SavePartialOutput => null, // nothing finished
                        _ => reader.Read() ? ReadTask(reader) : null,
                    };
                    reader.NextResult();
                }
            }

            // A finished call for a task this owner no longer holds: counted, and kept as Discarded with the reason.
            var discarded = order.Where(i => writes[i] is FinishAttempt { Attempt.CallMade: true } && results[i] is null).ToArray();
            var lost = new Dictionary<int, (long Number, string Why)>();
            if (discarded.Length > 0)
            {
                using var batch = tx.Batch();
                foreach (var i in discarded)
                {
                    batch.BatchCommands.Add(BatchCommand("UPDATE tasks SET attempts = attempts + 1 WHERE id = @id RETURNING attempts, state, lease_owner, cancel_requested",
                        Long("id", writes[i].TaskId)));
                }

                using var reader = batch.ExecuteReader();
                foreach (var i in discarded)
                {
                    if (reader.Read())
                    {
                        lost[i] = (reader.GetInt32(0), StoreTexts.Discarded(reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetString(2), reader.GetInt32(3) != 0));
                    }

                    reader.NextResult();
                }
            }

            using (var rows = tx.Batch())
            {
                foreach (var i in order)
                {
                    switch (writes[i])
                    {
                        case FinishAttempt { Attempt.CallMade: true } finish when results[i] is { } written && !WritesItsAttempt(finish):
                            AddAttempt(rows, finish.TaskId, written.Attempts, finish.Attempt, finish.Owner);
                            break;
                        case FinishAttempt finish when lost.TryGetValue(i, out var gone):
                            AddAttempt(rows, finish.TaskId, (int)gone.Number, StoreTexts.AsDiscarded(finish.Attempt, gone.Why), finish.Owner);
                            break;
                        case RecordAttempt record when results[i] is { } written:
                            AddAttempt(rows, record.TaskId, written.Attempts, record.Attempt, record.Owner);
                            break;
                    }
                }

                if (rows.BatchCommands.Count > 0)
                {
                    rows.ExecuteNonQuery();
                }
            }
        }

        return results;
    }

    private static NpgsqlBatchCommand InsertCommand(InsertTask insert)
    {
        var request = insert.Request;
        return BatchCommand($"""
            INSERT INTO tasks (instance_id, name, state, model, provider, prompt, request_json, created_at, lease_owner, lease_expires_at)
            VALUES (@iid, @name, 'Pending', @model, @provider, @prompt, @request, {Now}, @owner, CASE WHEN @lease IS NULL THEN NULL ELSE {Now} + @lease END)
            RETURNING id, instance_id, created_at, lease_expires_at
            """,
            Text("iid", Guid.NewGuid().ToString("D")),
            Text("name", request.Name),
            Text("model", request.Model),
            Text("provider", insert.Provider),
            Text("prompt", request.Prompt),
            Text("request", StoreJson.Serialize(request)),
            Text("owner", insert.Owner),
            Long("lease", insert.LeaseMs));
    }

    /// <summary>
    /// The inserts of a burst (piped prompts, a batch of Start-LlmTask calls) as one statement: a row per element of the
    /// arrays, in their order, so the ids rise in input order; the server starts one insert, not one per task. Each row
    /// is told from the others by its instance id (<paramref name="keys"/>), not by the order RETURNING gives them in.
    /// </summary>
    private static NpgsqlBatchCommand InsertManyCommand(InsertTask[] inserts, out Guid[] keys)
    {
        keys = inserts.Select(_ => Guid.NewGuid()).ToArray();
        return BatchCommand($"""
            INSERT INTO tasks (instance_id, name, state, model, provider, prompt, request_json, created_at, lease_owner, lease_expires_at)
            SELECT iid, name, 'Pending', model, provider, prompt, request, {Now}, owner, CASE WHEN lease IS NULL THEN NULL ELSE {Now} + lease END
            FROM unnest(@iid, @name, @model, @provider, @prompt, @request, @owner, @lease) WITH ORDINALITY
                AS t(iid, name, model, provider, prompt, request, owner, lease, n)
            ORDER BY n
            RETURNING id, instance_id, created_at, lease_expires_at
            """,
            Texts("iid", keys.Select(k => k.ToString("D"))),
            Texts("name", inserts.Select(i => i.Request.Name!)),
            Texts("model", inserts.Select(i => i.Request.Model)),
            Texts("provider", inserts.Select(i => i.Provider)),
            Texts("prompt", inserts.Select(i => i.Request.Prompt)),
            Texts("request", inserts.Select(i => StoreJson.Serialize(i.Request))),
            Texts("owner", inserts.Select(i => i.Owner!)),
            NullableLongs("lease", inserts.Select(i => i.LeaseMs)));
    }

    private void ReadInsertedMany(NpgsqlDataReader reader, int[] inserts, Guid[] keys, IReadOnlyList<StoreWrite> writes, LlmTask?[] results)
    {
        var at = new Dictionary<Guid, int>(keys.Length);
        for (var k = 0; k < keys.Length; k++)
        {
            at[keys[k]] = inserts[k];
        }

        while (reader.Read())
        {
            var i = at[Guid.Parse(reader.GetString(1))];
            results[i] = Inserted(reader, (InsertTask)writes[i]);
        }
    }

    private LlmTask? ReadInserted(NpgsqlDataReader reader, InsertTask insert) => reader.Read() ? Inserted(reader, insert) : null;

    private LlmTask Inserted(NpgsqlDataReader reader, InsertTask insert)
    {
        var request = insert.Request;
        return new LlmTask
        {
            Id = reader.GetInt64(0),
            InstanceId = Guid.Parse(reader.GetString(1)),
            Name = request.Name,
            State = LlmTaskState.Pending,
            Model = request.Model,
            Prompt = request.Prompt,
            Request = request,
            CreatedAt = UnixTime.Local(reader.GetInt64(2)),
            Owner = insert.Owner,
            LeaseExpiresAt = UnixTime.Local(StoreRows.NullableLong(reader, 3)),
            StorePath = Path,
        };
    }

    private static NpgsqlBatchCommand MarkRunningCommand(MarkRunning run) => BatchCommand($"""
        UPDATE tasks SET state = 'Running', started_at = {Now}, lease_expires_at = {Now} + @lease
        WHERE id = @id AND state = 'Pending' AND {HeldBy} AND cancel_requested = 0
        RETURNING {TaskColumns}
        """, Long("lease", run.LeaseMs), Long("id", run.TaskId), Text("owner", run.Owner));

    /// <summary>
    /// A result whose attempt row goes in the same statement (a call was made, no check rows to add): the row takes its
    /// number from the task row the update returns, so the result and its attempt are one statement and one round trip.
    /// </summary>
    private static bool WritesItsAttempt(FinishAttempt finish) => finish.Attempt is { CallMade: true, Checks: null or { Count: 0 } };

    private static NpgsqlBatchCommand FinishCommand(FinishAttempt finish)
    {
        var update = FinishUpdate(finish);
        if (!WritesItsAttempt(finish))
        {
            return update;
        }

        update.CommandText = $"""
            WITH done AS ({update.CommandText}),
            attempt AS ({AttemptInsert} SELECT {AttemptValuesNumberedByDone} FROM done)
            SELECT * FROM done
            """;
        update.Parameters.AddRange(AttemptParameters(finish.TaskId, null, finish.Attempt, finish.Owner));
        return update;
    }

    private static NpgsqlBatchCommand FinishUpdate(FinishAttempt finish)
    {
        var attempt = finish.Attempt;
        var usage = new[]
        {
            Long("in", attempt.InputTokens), Long("out", attempt.OutputTokens), Long("cost", NanoUsd.FromUsd(attempt.CostUsd)),
            Long("id", finish.TaskId), Text("owner", finish.Owner), Int("calls", attempt.CallMade ? 1 : 0),
        };
        if (finish.FinalState is not { } state)
        {
            return BatchCommand($"""
                UPDATE tasks SET attempts = attempts + @calls, {AddUsage}, {BackToPendingUnlessStopped}
                WHERE id = @id AND state = 'Running' AND {HeldBy}
                RETURNING {TaskColumns}
                """, usage);
        }

        // The store boundary: no key this process read is written (outputs lose only known keys).
        return BatchCommand($"""
            UPDATE tasks SET state = @state, output = @output, structured_output = @structured, error = @error, error_kind = @kind,
                attempts = attempts + @calls, {AddUsage},
                completed_at = {Now}, partial_output = NULL, lease_owner = NULL, lease_expires_at = NULL
            WHERE id = @id AND state = 'Running' AND {HeldBy}
            RETURNING {TaskColumns}
            """,
            [.. usage,
             Text("state", state.ToString()),
             Text("output", Secrets.RedactKnownOrNull(attempt.Output)),
             Text("structured", Secrets.RedactKnownOrNull(attempt.StructuredOutput)),
             Text("error", Secrets.RedactOrNull(attempt.Error)),
             Text("kind", attempt.ErrorKind)]);
    }

    private static NpgsqlBatchCommand RecordCommand(RecordAttempt record) => BatchCommand($"""
        UPDATE tasks SET attempts = attempts + 1, {AddUsage}, partial_output = NULL
        WHERE id = @id AND state = 'Running' AND {HeldBy}
        RETURNING {TaskColumns}
        """,
        Long("in", record.Attempt.InputTokens), Long("out", record.Attempt.OutputTokens), Long("cost", NanoUsd.FromUsd(record.Attempt.CostUsd)),
        Long("id", record.TaskId), Text("owner", record.Owner));

    /// <summary>
    /// The streamed text so far; only while this owner runs the task (a late save after the result changes nothing). It
    /// returns a row set like every write of a batch (Npgsql's reader skips statements that return none, which would
    /// hand every later write of the batch the result of the one after it).
    /// </summary>
    private static NpgsqlBatchCommand PartialCommand(SavePartialOutput partial) => BatchCommand(
        $"UPDATE tasks SET partial_output = @text WHERE id = @id AND state = 'Running' AND {HeldBy} RETURNING id",
        Text("text", Secrets.RedactKnown(partial.Text)), // the store boundary: no key this process read is written
        Long("id", partial.TaskId), Text("owner", partial.Owner));

    private const string AttemptInsert = """
        INSERT INTO attempts (task_id, number, outcome, request_json, output, error, error_kind, started_at,
                              latency_ms, input_tokens, output_tokens, cost_nanousd, owner, structured_output, details, first_token_ms)
        """;

    private const string AttemptValues =
        "@a_task, @number, @a_outcome, @a_request, @a_output, @a_error, @a_kind, @a_started, @a_latency, @a_in, @a_out, @a_cost, @a_owner, @a_structured, @a_details, @a_first";

    /// <summary>The attempt row's values with its number taken from the task row a result's update returned (CTE <c>done</c>).</summary>
    private static readonly string AttemptValuesNumberedByDone = AttemptValues.Replace("@number", "done.attempts", StringComparison.Ordinal);

    /// <summary>An attempt row's values (its number as @number, unless <paramref name="number"/> is null: then the statement gives it).</summary>
    private static NpgsqlParameter[] AttemptParameters(long taskId, int? number, AttemptRecord attempt, string? owner) =>
    [
        Long("a_task", taskId),
        .. number is { } n ? [Int("number", n)] : Array.Empty<NpgsqlParameter>(),
        Text("a_outcome", attempt.Outcome.ToString()),
        Text("a_request", attempt.RequestJson),
        Text("a_output", Secrets.RedactKnownOrNull(attempt.Output)),
        Text("a_error", Secrets.RedactOrNull(attempt.Error)),
        Text("a_kind", attempt.ErrorKind),
        Long("a_started", attempt.StartedAtMs),
        Real("a_latency", attempt.LatencyMs),
        Long("a_in", attempt.InputTokens),
        Long("a_out", attempt.OutputTokens),
        Long("a_cost", NanoUsd.FromUsd(attempt.CostUsd)),
        Text("a_owner", owner),
        Text("a_structured", Secrets.RedactKnownOrNull(attempt.StructuredOutput)),
        Text("a_details", Secrets.RedactOrNull(attempt.DetailsJson)),
        Real("a_first", attempt.FirstTokenMs),
    ];

    /// <summary>Adds the attempt row (and its check rows) to a batch.</summary>
    private static void AddAttempt(NpgsqlBatch batch, long taskId, int number, AttemptRecord attempt, string? owner)
    {
        batch.BatchCommands.Add(BatchCommand($"{AttemptInsert} VALUES ({AttemptValues})", AttemptParameters(taskId, number, attempt, owner)));
        if (attempt.Checks is { Count: > 0 } checks)
        {
            AddChecks(batch, taskId, number, checks);
        }
    }

    public (IReadOnlyList<LlmTask> Cancelled, IReadOnlyList<long> Flagged) Stop(IReadOnlyCollection<long> ids, string reason) => Write(tx =>
    {
        // The rows first, in id order: no task slips from Running back to Pending between the two updates
        // (and ends flagged but never stopped), and stops of many processes take the locks in one order.
        using var batch = tx.Batch();
        batch.BatchCommands.Add(BatchCommand("SELECT id FROM tasks WHERE id = ANY(@ids) ORDER BY id FOR UPDATE", Longs("ids", ids)));
        batch.BatchCommands.Add(BatchCommand($"""
            UPDATE tasks SET state = 'Cancelled', completed_at = {Now}, error = @reason, error_kind = 'Cancelled',
                lease_owner = NULL, lease_expires_at = NULL
            WHERE id = ANY(@ids) AND state = 'Pending'
            RETURNING {TaskColumns}
            """, Longs("ids", ids), Text("reason", reason)));
        batch.BatchCommands.Add(BatchCommand("UPDATE tasks SET cancel_requested = 1 WHERE id = ANY(@ids) AND state = 'Running' RETURNING id", Longs("ids", ids)));
        batch.BatchCommands.Add(tx.NotifyCommand());
        using var reader = batch.ExecuteReader();
        while (reader.Read())
        {
        }

        reader.NextResult();
        var cancelled = ReadTasks(reader);
        reader.NextResult();
        var flagged = ReadIds(reader);
        return ((IReadOnlyList<LlmTask>)cancelled, (IReadOnlyList<long>)flagged);
    }, StoreChange.TasksFinished, StoreChange.StopRequested);

    public int Delete(IReadOnlyCollection<long> ids) => Write(tx =>
    {
        using var command = tx.Command("DELETE FROM tasks WHERE id = ANY(@ids)", Longs("ids", ids));
        return command.ExecuteNonQuery();
    }, StoreChange.TasksFinished);
}

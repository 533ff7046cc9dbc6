using System.Text.Json;
using LlmTasks.Diagnostics;
using Microsoft.Data.Sqlite;

namespace LlmTasks.Storage.Sqlite;

internal sealed partial class SqliteTaskStore
{
    private readonly Dictionary<string, SqliteCommand> _prepared = new(StringComparer.Ordinal);

    /// <summary>Adds a Pending task, leased to <paramref name="owner"/> (the process that will run it) when given, in a transaction of its own.</summary>
    public LlmTask Insert(LlmTaskRequest request, string provider, string? owner, long? leaseMs)
    {
        var insert = new InsertTask(request, provider, owner, leaseMs);
        return Write((connection, transaction) => ApplyInsert(connection, transaction, insert, NowMs));
    }

    private LlmTask ApplyInsert(SqliteConnection connection, SqliteTransaction transaction, InsertTask insert, long now)
    {
        var request = insert.Request;
        var instanceId = Guid.NewGuid();
        long? expires = insert.LeaseMs is { } leaseMs ? now + leaseMs : null;
        var command = Prepared(connection, transaction, """
            INSERT INTO tasks (instance_id, name, state, model, provider, prompt, request_json, created_at, lease_owner, lease_expires_at)
            VALUES ($iid, $name, 'Pending', $model, $provider, $prompt, $request, $now, $owner, $expires)
            RETURNING id
            """);
        Bind(command, "$iid", instanceId.ToString("D"));
        Bind(command, "$name", request.Name);
        Bind(command, "$model", request.Model);
        Bind(command, "$provider", insert.Provider);
        Bind(command, "$prompt", request.Prompt);
        Bind(command, "$request", StoreJson.Serialize(request));
        Bind(command, "$now", now);
        Bind(command, "$owner", insert.Owner);
        Bind(command, "$expires", expires);
        var id = (long)command.ExecuteScalar()!;
        return new LlmTask
        {
            Id = id,
            InstanceId = instanceId,
            Name = request.Name,
            State = LlmTaskState.Pending,
            Model = request.Model,
            Prompt = request.Prompt,
            Request = request,
            CreatedAt = UnixTime.Local(now),
            Owner = insert.Owner,
            LeaseExpiresAt = UnixTime.Local(expires),
            StorePath = Path,
        };
    }

    /// <summary>Applies the writes in order in one transaction; each result is the task as written, or null when the write did not apply.</summary>
    public LlmTask?[] Apply(IReadOnlyList<StoreWrite> writes) => Write((connection, transaction) =>
    {
        var applied = new LlmTask?[writes.Count];
        var now = NowMs;
        for (var i = 0; i < writes.Count; i++)
        {
            applied[i] = writes[i] switch
            {
                InsertTask insert => ApplyInsert(connection, transaction, insert, now),
                MarkRunning run => ApplyMarkRunning(connection, transaction, run, now),
                FinishAttempt finish => ApplyFinish(connection, transaction, finish, now),
                RecordAttempt record => ApplyRecord(connection, transaction, record),
                SavePartialOutput partial => ApplyPartial(connection, transaction, partial),
                _ => throw new ArgumentOutOfRangeException(nameof(writes), writes[i], "Unknown store write."),
            };
        }

        return applied;
    });

    private LlmTask? ApplyMarkRunning(SqliteConnection connection, SqliteTransaction transaction, MarkRunning run, long now)
    {
        var command = Prepared(connection, transaction, $"""
            UPDATE tasks SET state = 'Running', started_at = $now, lease_expires_at = $expires
            WHERE id = $id AND state = 'Pending' AND lease_owner = $owner AND cancel_requested = 0
            RETURNING {TaskColumns}
            """);
        Bind(command, "$now", now);
        Bind(command, "$expires", now + run.LeaseMs);
        Bind(command, "$id", run.TaskId);
        Bind(command, "$owner", run.Owner);
        return ReadTasks(command).FirstOrDefault();
    }

    private LlmTask? ApplyFinish(SqliteConnection connection, SqliteTransaction transaction, FinishAttempt finish, long now)
    {
        var attempt = finish.Attempt;
        var command = finish.FinalState is { } state
            ? Prepared(connection, transaction, $"""
                UPDATE tasks SET state = $state, output = $output, structured_output = $structured, error = $error, error_kind = $kind,
                    attempts = attempts + $calls,
                    input_tokens = CASE WHEN $in IS NULL THEN input_tokens ELSE coalesce(input_tokens, 0) + $in END,
                    output_tokens = CASE WHEN $out IS NULL THEN output_tokens ELSE coalesce(output_tokens, 0) + $out END,
                    cost_nanousd = CASE WHEN $cost IS NULL THEN cost_nanousd ELSE coalesce(cost_nanousd, 0) + $cost END,
                    completed_at = $now, partial_output = NULL, lease_owner = NULL, lease_expires_at = NULL
                WHERE id = $id AND state = 'Running' AND lease_owner = $owner
                RETURNING {TaskColumns}
                """)
            : Prepared(connection, transaction, $"""
                UPDATE tasks SET attempts = attempts + $calls,
                    input_tokens = CASE WHEN $in IS NULL THEN input_tokens ELSE coalesce(input_tokens, 0) + $in END,
                    output_tokens = CASE WHEN $out IS NULL THEN output_tokens ELSE coalesce(output_tokens, 0) + $out END,
                    cost_nanousd = CASE WHEN $cost IS NULL THEN cost_nanousd ELSE coalesce(cost_nanousd, 0) + $cost END,
                    {BackToPendingUnlessStopped}
                WHERE id = $id AND state = 'Running' AND lease_owner = $owner
                RETURNING {TaskColumns}
                """);
        Bind(command, "$now", now);
        if (finish.FinalState is { } final)
        {
            Bind(command, "$state", final.ToString());
            // The store boundary: no key this process read is written (outputs lose only known keys).
            Bind(command, "$output", Secrets.RedactKnownOrNull(attempt.Output));
            Bind(command, "$structured", Secrets.RedactKnownOrNull(attempt.StructuredOutput));
            Bind(command, "$error", Secrets.RedactOrNull(attempt.Error));
            Bind(command, "$kind", attempt.ErrorKind);
        }

        Bind(command, "$in", attempt.InputTokens);
        Bind(command, "$out", attempt.OutputTokens);
        Bind(command, "$cost", NanoUsd.FromUsd(attempt.CostUsd));
        Bind(command, "$id", finish.TaskId);
        Bind(command, "$owner", finish.Owner);
        Bind(command, "$calls", attempt.CallMade ? 1 : 0);
        var written = ReadTasks(command).FirstOrDefault();
        object? number = written?.Attempts is { } attempts ? (long)attempts : null;
        if (!attempt.CallMade)
        {
            return written; // one attempt row per call made: this record stands for none
        }

        if (written is null)
        {
            // Someone else holds or finished the task: keep the call on record, saying why, and change nothing else.
            var count = Prepared(connection, transaction, "UPDATE tasks SET attempts = attempts + 1 WHERE id = $id RETURNING attempts, state, lease_owner, cancel_requested");
            Bind(count, "$id", finish.TaskId);
            using var reader = count.ExecuteReader();
            number = reader.Read() ? reader.GetInt64(0) : null;
            var why = number is null ? string.Empty : StoreTexts.Discarded(reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetString(2), reader.GetInt64(3) != 0);
            attempt = StoreTexts.AsDiscarded(attempt, why);
        }

        if (number is long n)
        {
            InsertAttempt(connection, transaction, finish.TaskId, (int)n, attempt, finish.Owner);
        }

        return written;
    }

    private LlmTask? ApplyRecord(SqliteConnection connection, SqliteTransaction transaction, RecordAttempt record)
    {
        var command = Prepared(connection, transaction, $"""
            UPDATE tasks SET attempts = attempts + 1,
                input_tokens = CASE WHEN $in IS NULL THEN input_tokens ELSE coalesce(input_tokens, 0) + $in END,
                output_tokens = CASE WHEN $out IS NULL THEN output_tokens ELSE coalesce(output_tokens, 0) + $out END,
                cost_nanousd = CASE WHEN $cost IS NULL THEN cost_nanousd ELSE coalesce(cost_nanousd, 0) + $cost END,
                partial_output = NULL
            WHERE id = $id AND state = 'Running' AND lease_owner = $owner
            RETURNING {TaskColumns}
            """);
        Bind(command, "$in", record.Attempt.InputTokens);
        Bind(command, "$out", record.Attempt.OutputTokens);
        Bind(command, "$cost", NanoUsd.FromUsd(record.Attempt.CostUsd));
        Bind(command, "$id", record.TaskId);
        Bind(command, "$owner", record.Owner);
        var written = ReadTasks(command).FirstOrDefault();
        if (written is not null)
        {
            InsertAttempt(connection, transaction, record.TaskId, written.Attempts, record.Attempt, record.Owner);
        }

        return written;
    }

    /// <summary>The streamed text so far; only while this owner runs the task (a late save after the result changes nothing). Returns no task: nothing finished.</summary>
    private LlmTask? ApplyPartial(SqliteConnection connection, SqliteTransaction transaction, SavePartialOutput partial)
    {
        var command = Prepared(connection, transaction, "UPDATE tasks SET partial_output = $text WHERE id = $id AND state = 'Running' AND lease_owner = $owner");
        Bind(command, "$text", Secrets.RedactKnown(partial.Text)); // the store boundary: no key this process read is written
        Bind(command, "$id", partial.TaskId);
        Bind(command, "$owner", partial.Owner);
        command.ExecuteNonQuery();
        return null;
    }

    private void InsertAttempt(SqliteConnection connection, SqliteTransaction transaction, long taskId, int number, AttemptRecord attempt, string? owner)
    {
        var command = Prepared(connection, transaction, """
            INSERT INTO attempts (task_id, number, outcome, request_json, output, error, error_kind, started_at,
                                  latency_ms, input_tokens, output_tokens, cost_nanousd, owner, structured_output, details, first_token_ms)
            VALUES ($task, $number, $outcome, $request, $output, $error, $kind, $started, $latency, $in, $out, $cost, $owner, $structured, $details, $first)
            """);
        Bind(command, "$task", taskId);
        Bind(command, "$number", number);
        Bind(command, "$outcome", attempt.Outcome.ToString());
        Bind(command, "$request", attempt.RequestJson);
        Bind(command, "$output", Secrets.RedactKnownOrNull(attempt.Output));
        Bind(command, "$error", Secrets.RedactOrNull(attempt.Error));
        Bind(command, "$kind", attempt.ErrorKind);
        Bind(command, "$started", attempt.StartedAtMs);
        Bind(command, "$latency", attempt.LatencyMs);
        Bind(command, "$in", attempt.InputTokens);
        Bind(command, "$out", attempt.OutputTokens);
        Bind(command, "$cost", NanoUsd.FromUsd(attempt.CostUsd));
        Bind(command, "$owner", owner);
        Bind(command, "$structured", Secrets.RedactKnownOrNull(attempt.StructuredOutput));
        Bind(command, "$details", Secrets.RedactOrNull(attempt.DetailsJson));
        Bind(command, "$first", attempt.FirstTokenMs);
        command.ExecuteNonQuery();
        if (attempt.Checks is { Count: > 0 } checks)
        {
            InsertChecks(connection, transaction, taskId, number, checks);
        }
    }

    /// <summary>
    /// Stops tasks in one transaction: Pending ones (whoever holds them) become Cancelled at once and are
    /// returned; Running ones are flagged for the process running them. In one transaction, a task cannot
    /// slip from Running back to Pending between the two and end up flagged but never stopped.
    /// </summary>
    public (IReadOnlyList<LlmTask> Cancelled, IReadOnlyList<long> Flagged) Stop(IReadOnlyCollection<long> ids, string reason) => Write((connection, transaction) =>
    {
        var pending = Prepared(connection, transaction, $"""
            UPDATE tasks SET state = 'Cancelled', completed_at = $now, error = $reason, error_kind = 'Cancelled',
                lease_owner = NULL, lease_expires_at = NULL
            WHERE id IN (SELECT value FROM json_each($ids)) AND state = 'Pending'
            RETURNING {TaskColumns}
            """);
        Bind(pending, "$now", NowMs);
        Bind(pending, "$reason", reason);
        Bind(pending, "$ids", JsonSerializer.Serialize(ids));
        var cancelled = ReadTasks(pending);

        var running = Prepared(connection, transaction, """
            UPDATE tasks SET cancel_requested = 1
            WHERE id IN (SELECT value FROM json_each($ids)) AND state = 'Running'
            RETURNING id
            """);
        Bind(running, "$ids", JsonSerializer.Serialize(ids));
        var flagged = new List<long>();
        using (var reader = running.ExecuteReader())
        {
            while (reader.Read())
            {
                flagged.Add(reader.GetInt64(0));
            }
        }

        return ((IReadOnlyList<LlmTask>)cancelled, (IReadOnlyList<long>)flagged);
    });

    /// <summary>Deletes tasks and their attempts.</summary>
    public int Delete(IReadOnlyCollection<long> ids) => Write((connection, transaction) =>
    {
        var command = Prepared(connection, transaction, "DELETE FROM tasks WHERE id IN (SELECT value FROM json_each($ids))");
        Bind(command, "$ids", JsonSerializer.Serialize(ids));
        return command.ExecuteNonQuery();
    });

    /// <summary>A command on the write connection, prepared once and reused (called under the write lock).</summary>
    private SqliteCommand Prepared(SqliteConnection connection, SqliteTransaction transaction, string sql)
    {
        if (!_prepared.TryGetValue(sql, out var command))
        {
            command = connection.CreateCommand();
            command.CommandText = sql;
            _prepared[sql] = command;
        }

        command.Transaction = transaction;
        command.Parameters.Clear();
        return command;
    }

    private static void Bind(SqliteCommand command, string name, object? value) =>
        command.Parameters.AddWithValue(name, value ?? DBNull.Value);
}

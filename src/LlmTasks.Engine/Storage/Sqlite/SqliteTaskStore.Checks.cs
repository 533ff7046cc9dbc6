using System.Text.Json;
using LlmTasks.Verification;
using Microsoft.Data.Sqlite;

namespace LlmTasks.Storage.Sqlite;

/// <summary>Verification results (the checks table), review approvals and restarts.</summary>
internal sealed partial class SqliteTaskStore
{
    private void InsertChecks(SqliteConnection connection, SqliteTransaction transaction, long taskId, int attempt, IReadOnlyList<LlmCheckResult> checks)
    {
        var now = NowMs;
        foreach (var check in checks)
        {
            var command = Prepared(connection, transaction, """
                INSERT INTO checks (task_id, attempt, position, type, name, passed, reason, suggestion, details, duration_ms, unavailable, created_at, error_kind)
                VALUES ($task, $attempt, $position, $type, $name, $passed, $reason, $suggestion, $details, $duration, $unavailable, $now, $kind)
                """);
            Bind(command, "$task", taskId);
            Bind(command, "$attempt", attempt);
            Bind(command, "$position", check.Index);
            Bind(command, "$type", check.Type);
            Bind(command, "$name", check.Name);
            Bind(command, "$passed", check.Passed ? 1 : 0);
            Bind(command, "$reason", Diagnostics.Secrets.RedactOrNull(check.Reason));
            Bind(command, "$suggestion", Diagnostics.Secrets.RedactOrNull(check.Suggestion));
            Bind(command, "$details", Diagnostics.Secrets.RedactOrNull(check.Details));
            Bind(command, "$duration", check.Duration.TotalMilliseconds);
            Bind(command, "$unavailable", check.Unavailable ? 1 : 0);
            Bind(command, "$now", now);
            Bind(command, "$kind", check.ErrorKind);
            command.ExecuteNonQuery();
        }
    }

    /// <summary>
    /// Keeps a model call made for a finished task after the fact (a judge run by Invoke-LlmVerification)
    /// as an attempt of its own: counted in Attempts, with its usage and cost; the task's state and output stay.
    /// </summary>
    public void RecordCall(long taskId, AttemptRecord attempt) => Write((connection, transaction) =>
    {
        var command = Prepared(connection, transaction, """
            UPDATE tasks SET attempts = attempts + 1,
                input_tokens = CASE WHEN $in IS NULL THEN input_tokens ELSE coalesce(input_tokens, 0) + $in END,
                output_tokens = CASE WHEN $out IS NULL THEN output_tokens ELSE coalesce(output_tokens, 0) + $out END,
                cost_nanousd = CASE WHEN $cost IS NULL THEN cost_nanousd ELSE coalesce(cost_nanousd, 0) + $cost END
            WHERE id = $id
            RETURNING attempts
            """);
        Bind(command, "$in", attempt.InputTokens);
        Bind(command, "$out", attempt.OutputTokens);
        Bind(command, "$cost", NanoUsd.FromUsd(attempt.CostUsd));
        Bind(command, "$id", taskId);
        if (command.ExecuteScalar() is long number)
        {
            InsertAttempt(connection, transaction, taskId, (int)number, attempt, owner: null);
        }

        return 0;
    });

    /// <summary>Stores results of checks run after the fact (Invoke-LlmVerification) against the task's latest attempt.</summary>
    public void RecordChecks(long taskId, IReadOnlyList<LlmCheckResult> checks) => Write((connection, transaction) =>
    {
        var attempts = Prepared(connection, transaction, "SELECT attempts FROM tasks WHERE id = $id");
        Bind(attempts, "$id", taskId);
        if (attempts.ExecuteScalar() is long attempt)
        {
            InsertChecks(connection, transaction, taskId, (int)attempt, checks);
        }

        return 0;
    });

    /// <summary>Every stored check result of the tasks, by task, in attempt and position order.</summary>
    public IReadOnlyDictionary<long, IReadOnlyList<LlmCheckResult>> GetChecks(IReadOnlyCollection<long> taskIds) => Read(connection =>
    {
        using var command = connection.CreateCommand();
        command.CommandText = $"""
            SELECT {StoreRows.CheckColumns}
            FROM checks WHERE task_id IN (SELECT value FROM json_each($ids)) ORDER BY task_id, id
            """;
        command.Parameters.AddWithValue("$ids", JsonSerializer.Serialize(taskIds));
        using var reader = command.ExecuteReader();
        return StoreRows.ChecksByTask(reader);
    });

    /// <summary>
    /// Completes NeedsReview tasks as a person decided: the output stays, the error goes, and an
    /// Approval row (who, why) is kept in the checks table. Returns the tasks approved.
    /// </summary>
    public IReadOnlyList<LlmTask> Approve(IReadOnlyCollection<long> ids, string approvedBy, string? note) => Write((connection, transaction) =>
    {
        var command = Prepared(connection, transaction, $"""
            UPDATE tasks SET state = 'Completed', error = NULL, error_kind = NULL, completed_at = $now
            WHERE id IN (SELECT value FROM json_each($ids)) AND state = 'NeedsReview'
            RETURNING {TaskColumns}
            """);
        Bind(command, "$now", NowMs);
        Bind(command, "$ids", JsonSerializer.Serialize(ids));
        var approved = ReadTasks(command);
        foreach (var task in approved)
        {
            InsertChecks(connection, transaction, task.Id, task.Attempts, [StoreTexts.Approval(approvedBy, note)]);
        }

        return (IReadOnlyList<LlmTask>)approved;
    });

    /// <summary>
    /// Failed, NeedsReview and Cancelled tasks back to Pending for a new attempt series, leased to
    /// <paramref name="owner"/>. Attempts, tokens, cost and earlier check results are kept.
    /// <paramref name="changed"/> replaces a task's stored request (and model) for the new series.
    /// </summary>
    public IReadOnlyList<LlmTask> Restart(IReadOnlyCollection<long> ids, string owner, long leaseMs,
        IReadOnlyDictionary<long, (LlmTaskRequest Request, string Provider)>? changed = null) => Write((connection, transaction) =>
    {
        foreach (var (id, (request, provider)) in changed ?? new Dictionary<long, (LlmTaskRequest, string)>())
        {
            // Earlier attempts that sent the task's own request point at it (request_json NULL): they keep
            // a copy of the old one, so every attempt row still says what its call sent.
            var keep = Prepared(connection, transaction, """
                UPDATE attempts SET request_json = (SELECT request_json FROM tasks WHERE id = $id)
                WHERE task_id = $id AND request_json IS NULL
                  AND EXISTS (SELECT 1 FROM tasks WHERE id = $id AND state IN ('Failed', 'NeedsReview', 'Cancelled'))
                """);
            Bind(keep, "$id", id);
            keep.ExecuteNonQuery();

            // The new request replaces the old one only for a task this restart applies to.
            var update = Prepared(connection, transaction, """
                UPDATE tasks SET request_json = $request, model = $model, provider = $provider
                WHERE id = $id AND state IN ('Failed', 'NeedsReview', 'Cancelled')
                """);
            Bind(update, "$request", StoreJson.Serialize(request));
            Bind(update, "$model", request.Model);
            Bind(update, "$provider", provider);
            Bind(update, "$id", id);
            update.ExecuteNonQuery();
        }

        var command = Prepared(connection, transaction, $"""
            UPDATE tasks SET state = 'Pending', output = NULL, structured_output = NULL, error = NULL, error_kind = NULL, batch_id = NULL,
                started_at = NULL, completed_at = NULL, cancel_requested = 0, recoveries = 0,
                lease_owner = $owner, lease_expires_at = $expires
            WHERE id IN (SELECT value FROM json_each($ids)) AND state IN ('Failed', 'NeedsReview', 'Cancelled')
            RETURNING {TaskColumns}
            """);
        Bind(command, "$owner", owner);
        Bind(command, "$expires", NowMs + leaseMs);
        Bind(command, "$ids", JsonSerializer.Serialize(ids));
        return (IReadOnlyList<LlmTask>)ReadTasks(command);
    });
}

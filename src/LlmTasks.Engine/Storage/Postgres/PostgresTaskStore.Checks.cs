using LlmTasks.Verification;
using Npgsql;

namespace LlmTasks.Storage.Postgres;

/// <summary>Verification results (the checks table), review approvals and restarts.</summary>
internal sealed partial class PostgresTaskStore
{
    private static void AddChecks(NpgsqlBatch batch, long taskId, int attempt, IReadOnlyList<LlmCheckResult> checks)
    {
        foreach (var check in checks)
        {
            batch.BatchCommands.Add(BatchCommand($"""
                INSERT INTO checks (task_id, attempt, position, type, name, passed, reason, suggestion, details, duration_ms, unavailable, created_at, error_kind)
                VALUES (@task, @attempt, @position, @type, @name, @passed, @reason, @suggestion, @details, @duration, @unavailable, {Now}, @kind)
                """,
                Long("task", taskId),
                Int("attempt", attempt),
                Int("position", check.Index),
                Text("type", check.Type),
                Text("name", check.Name),
                Int("passed", check.Passed ? 1 : 0),
                Text("reason", Diagnostics.Secrets.RedactOrNull(check.Reason)),
                Text("suggestion", Diagnostics.Secrets.RedactOrNull(check.Suggestion)),
                Text("details", Diagnostics.Secrets.RedactOrNull(check.Details)),
                Real("duration", check.Duration.TotalMilliseconds),
                Int("unavailable", check.Unavailable ? 1 : 0),
                Text("kind", check.ErrorKind)));
        }
    }

    public void RecordCall(long taskId, AttemptRecord attempt) => Write(tx =>
    {
        using var command = tx.Command($"""
            UPDATE tasks SET attempts = attempts + 1, {AddUsage}
            WHERE id = @id
            RETURNING attempts
            """, Long("in", attempt.InputTokens), Long("out", attempt.OutputTokens), Long("cost", NanoUsd.FromUsd(attempt.CostUsd)), Long("id", taskId));
        if (command.ExecuteScalar() is int number)
        {
            using var batch = tx.Batch();
            AddAttempt(batch, taskId, number, attempt, owner: null);
            batch.ExecuteNonQuery();
        }

        return 0;
    });

    public void RecordChecks(long taskId, IReadOnlyList<LlmCheckResult> checks) => Write(tx =>
    {
        using var attempts = tx.Command("SELECT attempts FROM tasks WHERE id = @id", Long("id", taskId));
        if (attempts.ExecuteScalar() is int attempt && checks.Count > 0)
        {
            using var batch = tx.Batch();
            AddChecks(batch, taskId, attempt, checks);
            batch.ExecuteNonQuery();
        }

        return 0;
    });

    public IReadOnlyDictionary<long, IReadOnlyList<LlmCheckResult>> GetChecks(IReadOnlyCollection<long> taskIds) => Read(connection =>
    {
        using var command = new NpgsqlCommand($"""
            SELECT {StoreRows.CheckColumns}
            FROM checks WHERE task_id = ANY(@ids) ORDER BY task_id, id
            """, connection);
        command.Parameters.Add(Longs("ids", taskIds));
        using var reader = command.ExecuteReader();
        return StoreRows.ChecksByTask(reader);
    });

    public IReadOnlyList<LlmTask> Approve(IReadOnlyCollection<long> ids, string approvedBy, string? note) => Write(tx =>
    {
        List<LlmTask> approved;
        using (var command = tx.Command($"""
            UPDATE tasks SET state = 'Completed', error = NULL, error_kind = NULL, completed_at = {Now}
            WHERE id = ANY(@ids) AND state = 'NeedsReview'
            RETURNING {TaskColumns}
            """, Longs("ids", ids)))
        {
            approved = ReadTasks(command);
        }

        if (approved.Count > 0)
        {
            using var batch = tx.Batch();
            foreach (var task in approved)
            {
                AddChecks(batch, task.Id, task.Attempts, [StoreTexts.Approval(approvedBy, note)]);
            }

            batch.ExecuteNonQuery();
        }

        return (IReadOnlyList<LlmTask>)approved;
    }, StoreChange.TasksFinished);

    public IReadOnlyList<LlmTask> Restart(IReadOnlyCollection<long> ids, string owner, long leaseMs,
        IReadOnlyDictionary<long, (LlmTaskRequest Request, string Provider)>? changed = null) => Write(tx =>
    {
        if (changed is { Count: > 0 })
        {
            using var batch = tx.Batch();
            foreach (var (id, (request, provider)) in changed)
            {
                // Earlier attempts that sent the task's own request point at it (request_json NULL): they keep
                // a copy of the old one, so every attempt row still says what its call sent.
                batch.BatchCommands.Add(BatchCommand("""
                    UPDATE attempts SET request_json = (SELECT request_json FROM tasks WHERE id = @id)
                    WHERE task_id = @id AND request_json IS NULL
                      AND EXISTS (SELECT 1 FROM tasks WHERE id = @id AND state IN ('Failed', 'NeedsReview', 'Cancelled'))
                    """, Long("id", id)));

                // The new request replaces the old one only for a task this restart applies to.
                batch.BatchCommands.Add(BatchCommand("""
                    UPDATE tasks SET request_json = @request, model = @model, provider = @provider
                    WHERE id = @id AND state IN ('Failed', 'NeedsReview', 'Cancelled')
                    """, Text("request", StoreJson.Serialize(request)), Text("model", request.Model), Text("provider", provider), Long("id", id)));
            }

            batch.ExecuteNonQuery();
        }

        using var command = tx.Command($"""
            UPDATE tasks SET state = 'Pending', output = NULL, structured_output = NULL, error = NULL, error_kind = NULL, batch_id = NULL,
                started_at = NULL, completed_at = NULL, cancel_requested = 0, recoveries = 0,
                lease_owner = @owner, lease_expires_at = {Now} + @lease
            WHERE id = ANY(@ids) AND state IN ('Failed', 'NeedsReview', 'Cancelled')
            RETURNING {TaskColumns}
            """, Text("owner", owner), Long("lease", leaseMs), Longs("ids", ids));
        return (IReadOnlyList<LlmTask>)ReadTasks(command);
    });
}

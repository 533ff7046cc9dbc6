using System.Data.Common;
using LlmTasks.Verification;

namespace LlmTasks.Storage;

/// <summary>
/// Task, attempt and check rows as every backend reads them: the same columns in the same order, through ADO.NET's
/// <see cref="DbDataReader"/>, so a new column is read in one place. Flags are integers (0/1) in both schemas; a
/// backend's reader gives them as the width it stores (SQLite's INTEGER, PostgreSQL's integer), read here as 32 bits.
/// </summary>
internal static class StoreRows
{
    /// <summary>The columns <see cref="Task"/> reads, in its order.</summary>
    public const string TaskColumns =
        "id, instance_id, name, state, model, prompt, request_json, output, error, error_kind, attempts, " +
        "input_tokens, output_tokens, cost_nanousd, created_at, started_at, completed_at, lease_owner, lease_expires_at, cancel_requested, structured_output, partial_output, batch_id";

    /// <summary>The columns <see cref="Attempts"/> reads, in its order (attempts <c>a</c> joined to their task <c>t</c>).</summary>
    public const string AttemptColumns =
        "a.task_id, a.number, a.outcome, a.output, a.error, a.error_kind, a.started_at, a.latency_ms, " +
        "a.input_tokens, a.output_tokens, a.cost_nanousd, a.owner, coalesce(a.request_json, t.request_json), " +
        "a.structured_output, a.details, a.first_token_ms";

    /// <summary>The columns <see cref="ChecksByTask"/> reads, in its order.</summary>
    public const string CheckColumns = "task_id, attempt, position, type, name, passed, reason, suggestion, details, duration_ms, unavailable, error_kind";

    public static LlmTask Task(DbDataReader r, string storePath) => new()
    {
        Id = r.GetInt64(0),
        InstanceId = Guid.Parse(r.GetString(1)),
        Name = NullableString(r, 2),
        State = Enum.Parse<LlmTaskState>(r.GetString(3)),
        Model = r.GetString(4),
        Prompt = r.GetString(5),
        RequestJson = r.GetString(6),
        Output = NullableString(r, 7),
        Error = NullableString(r, 8),
        ErrorKind = NullableString(r, 9),
        Attempts = r.GetInt32(10),
        InputTokens = NullableLong(r, 11),
        OutputTokens = NullableLong(r, 12),
        CostUsd = NullableUsd(r, 13),
        CreatedAt = UnixTime.Local(r.GetInt64(14)),
        StartedAt = UnixTime.Local(NullableLong(r, 15)),
        CompletedAt = UnixTime.Local(NullableLong(r, 16)),
        Owner = NullableString(r, 17),
        LeaseExpiresAt = UnixTime.Local(NullableLong(r, 18)),
        CancelRequested = r.GetInt32(19) != 0,
        StructuredOutput = NullableString(r, 20),
        PartialOutput = NullableString(r, 21),
        BatchId = NullableLong(r, 22),
        StorePath = storePath,
    };

    public static List<LlmTask> Tasks(DbDataReader reader, string storePath)
    {
        var tasks = new List<LlmTask>();
        while (reader.Read())
        {
            tasks.Add(Task(reader, storePath));
        }

        return tasks;
    }

    public static IReadOnlyList<LlmAttempt> Attempts(DbDataReader reader)
    {
        var attempts = new List<LlmAttempt>();
        while (reader.Read())
        {
            attempts.Add(new LlmAttempt
            {
                TaskId = reader.GetInt64(0),
                Number = reader.GetInt32(1),
                Outcome = Enum.Parse<LlmAttemptOutcome>(reader.GetString(2)),
                Output = NullableString(reader, 3),
                Error = NullableString(reader, 4),
                ErrorKind = NullableString(reader, 5),
                StartedAt = UnixTime.Local(reader.GetInt64(6)),
                Latency = NullableMilliseconds(reader, 7),
                InputTokens = NullableLong(reader, 8),
                OutputTokens = NullableLong(reader, 9),
                CostUsd = NullableUsd(reader, 10),
                Owner = NullableString(reader, 11),
                RequestJson = NullableString(reader, 12),
                StructuredOutput = NullableString(reader, 13),
                DetailsJson = NullableString(reader, 14),
                TimeToFirstToken = NullableMilliseconds(reader, 15),
            });
        }

        return attempts;
    }

    /// <summary>Check rows, by task, in the order read.</summary>
    public static IReadOnlyDictionary<long, IReadOnlyList<LlmCheckResult>> ChecksByTask(DbDataReader reader)
    {
        var byTask = new Dictionary<long, List<LlmCheckResult>>();
        while (reader.Read())
        {
            var id = reader.GetInt64(0);
            if (!byTask.TryGetValue(id, out var list))
            {
                byTask[id] = list = [];
            }

            list.Add(new LlmCheckResult
            {
                TaskId = id,
                Attempt = reader.GetInt32(1),
                Index = reader.GetInt32(2),
                Type = reader.GetString(3),
                Name = NullableString(reader, 4),
                Passed = reader.GetInt32(5) != 0,
                Reason = NullableString(reader, 6),
                Suggestion = NullableString(reader, 7),
                Details = NullableString(reader, 8),
                Duration = NullableMilliseconds(reader, 9) ?? TimeSpan.Zero,
                Unavailable = reader.GetInt32(10) != 0,
                ErrorKind = NullableString(reader, 11),
            });
        }

        return byTask.ToDictionary(p => p.Key, p => (IReadOnlyList<LlmCheckResult>)p.Value);
    }

    /// <summary>Batch rows in the column order both backends select (<c>BatchColumns</c>).</summary>
    public static List<LlmBatch> Batches(DbDataReader reader, string storePath)
    {
        var batches = new List<LlmBatch>();
        while (reader.Read())
        {
            batches.Add(new LlmBatch
            {
                Id = reader.GetInt64(0),
                Provider = reader.GetString(1),
                Model = reader.GetString(2),
                Endpoint = NullableString(reader, 3),
                ProviderBatchId = NullableString(reader, 4),
                State = Enum.Parse<LlmBatchState>(reader.GetString(5)),
                ProviderStatus = NullableString(reader, 6),
                RequestCount = reader.GetInt32(7),
                CompletedCount = reader.GetInt32(8),
                FailedCount = reader.GetInt32(9),
                CreatedAt = UnixTime.Local(reader.GetInt64(10)),
                SubmittedAt = UnixTime.Local(NullableLong(reader, 11)),
                ExpiresAt = UnixTime.Local(NullableLong(reader, 12)),
                EndedAt = UnixTime.Local(NullableLong(reader, 13)),
                CostUsd = NullableUsd(reader, 14),
                Error = NullableString(reader, 15),
                Owner = NullableString(reader, 16),
                LeaseExpiresMs = NullableLong(reader, 17),
                StorePath = storePath,
            });
        }

        return batches;
    }

    public static string? NullableString(DbDataReader r, int i) => r.IsDBNull(i) ? null : r.GetString(i);

    public static long? NullableLong(DbDataReader r, int i) => r.IsDBNull(i) ? null : r.GetInt64(i);

    /// <summary>A cost stored as whole nano-dollars (<see cref="NanoUsd"/>).</summary>
    public static decimal? NullableUsd(DbDataReader r, int i) => r.IsDBNull(i) ? null : NanoUsd.ToUsd(r.GetInt64(i));

    private static TimeSpan? NullableMilliseconds(DbDataReader r, int i) => r.IsDBNull(i) ? null : TimeSpan.FromMilliseconds(r.GetDouble(i));
}

using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Data.Sqlite;

namespace LlmTasks.Storage;

public sealed partial class TaskStore
{
    internal const string TaskColumns =
        "id, instance_id, name, state, model, prompt, request_json, output, error, error_kind, attempts, " +
        "input_tokens, output_tokens, cost_nanousd, created_at, started_at, completed_at, lease_owner, lease_expires_at, cancel_requested, structured_output";

    public LlmTask? Get(long id) => Query(new TaskQuery { Ids = [id] }).FirstOrDefault();

    public IReadOnlyList<LlmTask> Query(TaskQuery query)
    {
        var names = query.Names?.Select(Wildcard.Parse).ToArray(); // an invalid pattern is refused before the store is read
        return Read(connection => Query(connection, query, names));
    }

    private IReadOnlyList<LlmTask> Query(SqliteConnection connection, TaskQuery query, Wildcard.Parsed[]? names)
    {
        using var command = connection.CreateCommand();
        var where = new List<string>();
        List<Regex>? nameRegexes = null;
        if (query.Ids is { Count: > 0 })
        {
            where.Add("id IN (SELECT value FROM json_each($ids))");
            command.Parameters.AddWithValue("$ids", JsonSerializer.Serialize(query.Ids));
        }

        if (query.InstanceIds is { Count: > 0 })
        {
            where.Add("instance_id IN (SELECT value FROM json_each($iids))");
            command.Parameters.AddWithValue("$iids", JsonSerializer.Serialize(query.InstanceIds.Select(g => g.ToString("D"))));
        }

        if (names is { Length: > 0 })
        {
            var alternatives = new List<string>();
            var exact = names.Where(n => n.Literal is not null).Select(n => n.Literal!).ToArray();
            if (exact.Length > 0)
            {
                alternatives.Add("name IN (SELECT value FROM json_each($names))");
                command.Parameters.AddWithValue("$names", JsonSerializer.Serialize(exact));
            }

            var i = 0;
            foreach (var pattern in names.Where(n => n.Literal is null))
            {
                if (pattern.Like is { } like)
                {
                    alternatives.Add($"name LIKE $like{i} ESCAPE '\\'");
                    command.Parameters.AddWithValue($"$like{i++}", like);
                }
                else
                {
                    (nameRegexes ??= []).Add(pattern.Regex!);
                    alternatives.Add("name IS NOT NULL");
                }
            }

            where.Add("(" + string.Join(" OR ", alternatives) + ")");
        }

        if (query.States is { Count: > 0 })
        {
            where.Add("state IN (SELECT value FROM json_each($states))");
            command.Parameters.AddWithValue("$states", JsonSerializer.Serialize(query.States.Select(s => s.ToString())));
        }

        if (query.After is { } after)
        {
            where.Add("created_at > $after");
            command.Parameters.AddWithValue("$after", UnixTime.Ms(after));
        }

        if (query.Before is { } before)
        {
            where.Add("created_at < $before");
            command.Parameters.AddWithValue("$before", UnixTime.Ms(before));
        }

        if (query.FinishedBefore is { } finishedBefore)
        {
            where.Add("coalesce(completed_at, created_at) < $finishedBefore");
            command.Parameters.AddWithValue("$finishedBefore", UnixTime.Ms(finishedBefore));
        }

        var sql = new StringBuilder("SELECT ").Append(TaskColumns).Append(" FROM tasks");
        if (where.Count > 0)
        {
            sql.Append(" WHERE ").Append(string.Join(" AND ", where));
        }

        // With a regex post-filter the LIMIT would count rows the filter drops, so apply Newest afterwards.
        var limitInSql = query.Newest is { } n && nameRegexes is null;
        sql.Append(limitInSql ? " ORDER BY id DESC LIMIT $newest" : " ORDER BY id");
        if (limitInSql)
        {
            command.Parameters.AddWithValue("$newest", query.Newest!.Value);
        }

        command.CommandText = sql.ToString();
        var tasks = ReadTasks(command);
        if (nameRegexes is not null)
        {
            // Rows the SQL alternatives matched (exact names, LIKE patterns) stay; the rest must match a set pattern.
            var literals = names!.Where(n => n.Literal is not null).Select(n => n.Literal!).ToHashSet(StringComparer.OrdinalIgnoreCase);
            var likes = names!.Where(n => n.Like is not null).Select(n => n.Regex!).ToArray();
            tasks = tasks.Where(t => t.Name is { } name && (literals.Contains(name) || likes.Any(r => r.IsMatch(name)) || nameRegexes.Any(r => r.IsMatch(name)))).ToList();
            if (query.Newest is { } newest && tasks.Count > newest)
            {
                tasks = tasks.GetRange(tasks.Count - newest, newest);
            }
        }
        else if (limitInSql)
        {
            tasks.Reverse();
        }

        return tasks;
    }

    /// <summary>Tasks that reached a terminal state at or after an instant (UTC ms), oldest first.</summary>
    internal IReadOnlyList<LlmTask> FinishedSince(long sinceMs) => Read(connection =>
    {
        using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {TaskColumns} FROM tasks WHERE completed_at >= $since ORDER BY completed_at, id";
        command.Parameters.AddWithValue("$since", sinceMs);
        return (IReadOnlyList<LlmTask>)ReadTasks(command);
    });

    public IReadOnlyList<LlmAttempt> GetAttempts(long taskId) => Read(connection =>
    {
        using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT a.task_id, a.number, a.outcome, a.output, a.error, a.error_kind, a.started_at, a.latency_ms,
                   a.input_tokens, a.output_tokens, a.cost_nanousd, a.owner, coalesce(a.request_json, t.request_json),
                   a.structured_output, a.details
            FROM attempts a JOIN tasks t ON t.id = a.task_id
            WHERE a.task_id = $id ORDER BY a.number, a.id
            """;
        command.Parameters.AddWithValue("$id", taskId);
        using var reader = command.ExecuteReader();
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
                Latency = reader.IsDBNull(7) ? null : TimeSpan.FromMilliseconds(reader.GetDouble(7)),
                InputTokens = NullableLong(reader, 8),
                OutputTokens = NullableLong(reader, 9),
                CostUsd = NullableDecimal(reader, 10),
                Owner = NullableString(reader, 11),
                RequestJson = NullableString(reader, 12),
                StructuredOutput = NullableString(reader, 13),
                DetailsJson = NullableString(reader, 14),
            });
        }

        return (IReadOnlyList<LlmAttempt>)attempts;
    });

    /// <summary>Distinct values of a column seen in the store, for argument completion.</summary>
    public IReadOnlyList<string> DistinctModels(string prefix, int limit = 100) => Distinct("model", prefix, limit);

    public IReadOnlyList<string> DistinctNames(string prefix, int limit = 100) => Distinct("name", prefix, limit);

    private IReadOnlyList<string> Distinct(string column, string prefix, int limit) => Read(connection =>
    {
        using var command = connection.CreateCommand();
        command.CommandText = $"SELECT DISTINCT {column} FROM tasks WHERE {column} LIKE $prefix ESCAPE '\\' ORDER BY {column} LIMIT $limit";
        command.Parameters.AddWithValue("$prefix", Wildcard.LikePrefix(prefix) + "%");
        command.Parameters.AddWithValue("$limit", limit);
        using var reader = command.ExecuteReader();
        var values = new List<string>();
        while (reader.Read())
        {
            values.Add(reader.GetString(0));
        }

        return (IReadOnlyList<string>)values;
    });

    private List<LlmTask> ReadTasks(SqliteCommand command)
    {
        using var reader = command.ExecuteReader();
        var tasks = new List<LlmTask>();
        while (reader.Read())
        {
            tasks.Add(ReadTask(reader));
        }

        return tasks;
    }

    internal LlmTask ReadTask(SqliteDataReader r) => new()
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
        CostUsd = NullableDecimal(r, 13),
        CreatedAt = UnixTime.Local(r.GetInt64(14)),
        StartedAt = UnixTime.Local(NullableLong(r, 15)),
        CompletedAt = UnixTime.Local(NullableLong(r, 16)),
        Owner = NullableString(r, 17),
        LeaseExpiresAt = UnixTime.Local(NullableLong(r, 18)),
        CancelRequested = r.GetInt64(19) != 0,
        StructuredOutput = NullableString(r, 20),
        StorePath = Path,
    };

    private static string? NullableString(SqliteDataReader r, int i) => r.IsDBNull(i) ? null : r.GetString(i);

    private static long? NullableLong(SqliteDataReader r, int i) => r.IsDBNull(i) ? null : r.GetInt64(i);

    private static decimal? NullableDecimal(SqliteDataReader r, int i) =>
        r.IsDBNull(i) ? null : NanoUsd.ToUsd(r.GetInt64(i));
}

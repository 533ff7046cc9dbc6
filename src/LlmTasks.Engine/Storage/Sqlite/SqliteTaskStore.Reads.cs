using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Data.Sqlite;

namespace LlmTasks.Storage.Sqlite;

internal sealed partial class SqliteTaskStore
{
    internal const string TaskColumns =
        "id, instance_id, name, state, model, prompt, request_json, output, error, error_kind, attempts, " +
        "input_tokens, output_tokens, cost_nanousd, created_at, started_at, completed_at, lease_owner, lease_expires_at, cancel_requested, structured_output, partial_output, batch_id";

    public LlmTask? Get(long id) => Query(new TaskQuery { Ids = [id] }).FirstOrDefault();

    public IReadOnlyList<LlmTask> Query(TaskQuery query)
    {
        // An invalid pattern is refused before the store is read.
        var names = query.Names?.Select(Wildcard.Parse).ToArray();
        var models = query.Models?.Select(Wildcard.Parse).ToArray();
        return Read(connection => Query(connection, query, names, models));
    }

    private IReadOnlyList<LlmTask> Query(SqliteConnection connection, TaskQuery query, Wildcard.Parsed[]? names, Wildcard.Parsed[]? models)
    {
        using var command = connection.CreateCommand();
        var where = new List<string>();
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

        var nameRegexes = Filter(command, where, "name", names, exactInSql: true);
        var modelRegexes = Filter(command, where, "model", models, exactInSql: false);

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
        var limitInSql = query.Newest is { } n && nameRegexes is null && modelRegexes is null;
        sql.Append(limitInSql ? " ORDER BY id DESC LIMIT $newest" : " ORDER BY id");
        if (limitInSql)
        {
            command.Parameters.AddWithValue("$newest", query.Newest!.Value);
        }

        command.CommandText = sql.ToString();
        var tasks = ReadTasks(command);
        if (nameRegexes is not null)
        {
            tasks = tasks.Where(t => t.Name is { } name && Matches(names!, name)).ToList();
        }

        if (modelRegexes is not null)
        {
            tasks = tasks.Where(t => Matches(models!, t.Model)).ToList();
        }

        if (!limitInSql && query.Newest is { } newest && tasks.Count > newest)
        {
            tasks = tasks.GetRange(tasks.Count - newest, newest);
        }
        else if (limitInSql)
        {
            tasks.Reverse();
        }

        return tasks;
    }

    /// <summary>
    /// Adds a column's name filters to the WHERE clause: plain names (exact, case-insensitive) and
    /// * ? patterns in SQL; patterns with sets ([a-z]) match every row in SQL and return non-null, and
    /// the caller keeps only rows <see cref="Matches"/> accepts.
    /// </summary>
    private static List<Regex>? Filter(SqliteCommand command, List<string> where, string column, Wildcard.Parsed[]? patterns, bool exactInSql)
    {
        if (patterns is not { Length: > 0 })
        {
            return null;
        }

        var alternatives = new List<string>();
        List<Regex>? regexes = null;
        var exact = patterns.Where(p => p.Literal is not null).Select(p => p.Literal!).ToArray();
        if (exact.Length > 0 && exactInSql)
        {
            alternatives.Add($"{column} IN (SELECT value FROM json_each(${column}s))");
            command.Parameters.AddWithValue($"${column}s", JsonSerializer.Serialize(exact));
        }

        var i = 0;
        foreach (var pattern in patterns.Where(p => p.Literal is null || !exactInSql))
        {
            var like = pattern.Like ?? (pattern.Literal is { } literal ? literal.Replace("\\", "\\\\").Replace("%", "\\%").Replace("_", "\\_") : null);
            if (like is not null)
            {
                alternatives.Add($"{column} LIKE ${column}{i} ESCAPE '\\'");
                command.Parameters.AddWithValue($"${column}{i++}", like);
            }
            else
            {
                (regexes ??= []).Add(pattern.Regex!);
                alternatives.Add($"{column} IS NOT NULL");
            }
        }

        where.Add("(" + string.Join(" OR ", alternatives) + ")");
        return regexes;
    }

    /// <summary>Whether a value passes one of the filters (after SQL let through every row a set pattern might match).</summary>
    private static bool Matches(Wildcard.Parsed[] patterns, string value) =>
        patterns.Any(p => p.Literal is { } literal ? string.Equals(literal, value, StringComparison.OrdinalIgnoreCase) : p.Regex!.IsMatch(value));

    /// <summary>Tasks that reached a terminal state at or after an instant (UTC ms), oldest first.</summary>
    public IReadOnlyList<LlmTask> FinishedSince(long sinceMs) => Read(connection =>
    {
        using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {TaskColumns} FROM tasks WHERE completed_at >= $since ORDER BY completed_at, id";
        command.Parameters.AddWithValue("$since", sinceMs);
        return (IReadOnlyList<LlmTask>)ReadTasks(command);
    });

    /// <summary>How many tasks the store holds in each state (for the llmtasks.tasks metric).</summary>
    public IReadOnlyDictionary<LlmTaskState, long> CountByState() => Read(connection =>
    {
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT state, count(*) FROM tasks GROUP BY state";
        using var reader = command.ExecuteReader();
        var counts = new Dictionary<LlmTaskState, long>();
        while (reader.Read())
        {
            if (Enum.TryParse<LlmTaskState>(reader.GetString(0), out var state))
            {
                counts[state] = reader.GetInt64(1);
            }
        }

        return (IReadOnlyDictionary<LlmTaskState, long>)counts;
    });

    /// <summary>The streamed text so far of those of the tasks that are Running and have some (for -Stream, across processes).</summary>
    public IReadOnlyDictionary<long, string> PartialOutputs(IReadOnlyCollection<long> ids) => Read(connection =>
    {
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT id, partial_output FROM tasks WHERE id IN (SELECT value FROM json_each($ids)) AND state = 'Running' AND partial_output IS NOT NULL";
        command.Parameters.AddWithValue("$ids", JsonSerializer.Serialize(ids));
        using var reader = command.ExecuteReader();
        var texts = new Dictionary<long, string>();
        while (reader.Read())
        {
            texts[reader.GetInt64(0)] = reader.GetString(1);
        }

        return (IReadOnlyDictionary<long, string>)texts;
    });

    public IReadOnlyList<LlmAttempt> GetAttempts(long taskId) => Read(connection =>
    {
        using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT a.task_id, a.number, a.outcome, a.output, a.error, a.error_kind, a.started_at, a.latency_ms,
                   a.input_tokens, a.output_tokens, a.cost_nanousd, a.owner, coalesce(a.request_json, t.request_json),
                   a.structured_output, a.details, a.first_token_ms
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
                TimeToFirstToken = reader.IsDBNull(15) ? null : TimeSpan.FromMilliseconds(reader.GetDouble(15)),
            });
        }

        return (IReadOnlyList<LlmAttempt>)attempts;
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
        PartialOutput = NullableString(r, 21),
        BatchId = NullableLong(r, 22),
        StorePath = Path,
    };

    private static string? NullableString(SqliteDataReader r, int i) => r.IsDBNull(i) ? null : r.GetString(i);

    private static long? NullableLong(SqliteDataReader r, int i) => r.IsDBNull(i) ? null : r.GetInt64(i);

    private static decimal? NullableDecimal(SqliteDataReader r, int i) =>
        r.IsDBNull(i) ? null : NanoUsd.ToUsd(r.GetInt64(i));
}

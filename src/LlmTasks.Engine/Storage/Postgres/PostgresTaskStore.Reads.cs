using System.Text;
using System.Text.RegularExpressions;
using Npgsql;

namespace LlmTasks.Storage.Postgres;

internal sealed partial class PostgresTaskStore
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

    private IReadOnlyList<LlmTask> Query(NpgsqlConnection connection, TaskQuery query, Wildcard.Parsed[]? names, Wildcard.Parsed[]? models)
    {
        using var command = connection.CreateCommand();
        var where = new List<string>();
        if (query.Ids is { Count: > 0 })
        {
            where.Add("id = ANY(@ids)");
            command.Parameters.Add(Longs("ids", query.Ids));
        }

        if (query.InstanceIds is { Count: > 0 })
        {
            where.Add("instance_id = ANY(@iids)");
            command.Parameters.Add(Texts("iids", query.InstanceIds.Select(g => g.ToString("D"))));
        }

        var nameRegexes = Filter(command, where, "name", names, exactInSql: true);
        var modelRegexes = Filter(command, where, "model", models, exactInSql: false);

        if (query.States is { Count: > 0 })
        {
            where.Add("state = ANY(@states)");
            command.Parameters.Add(Texts("states", query.States.Select(s => s.ToString())));
        }

        if (query.After is { } after)
        {
            where.Add("created_at > @after");
            command.Parameters.Add(Long("after", UnixTime.Ms(after)));
        }

        if (query.Before is { } before)
        {
            where.Add("created_at < @before");
            command.Parameters.Add(Long("before", UnixTime.Ms(before)));
        }

        if (query.FinishedBefore is { } finishedBefore)
        {
            where.Add("coalesce(completed_at, created_at) < @finishedBefore");
            command.Parameters.Add(Long("finishedBefore", UnixTime.Ms(finishedBefore)));
        }

        var sql = new StringBuilder("SELECT ").Append(TaskColumns).Append(" FROM tasks");
        if (where.Count > 0)
        {
            sql.Append(" WHERE ").Append(string.Join(" AND ", where));
        }

        // With a regex post-filter the LIMIT would count rows the filter drops, so apply Newest afterwards.
        var limitInSql = query.Newest is { } && nameRegexes is null && modelRegexes is null;
        sql.Append(limitInSql ? " ORDER BY id DESC LIMIT @newest" : " ORDER BY id");
        if (limitInSql)
        {
            command.Parameters.Add(Int("newest", query.Newest!.Value));
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
    /// A column's name filters in SQL, as the SQLite store has them: plain names exact and * ? patterns as LIKE, both
    /// ignoring ASCII case (SQLite's NOCASE and LIKE: <c>lower(… COLLATE "C")</c> folds exactly those letters); patterns
    /// with sets match every row here and return non-null, and the caller keeps only rows <see cref="Matches"/> accepts.
    /// </summary>
    private static List<Regex>? Filter(NpgsqlCommand command, List<string> where, string column, Wildcard.Parsed[]? patterns, bool exactInSql)
    {
        if (patterns is not { Length: > 0 })
        {
            return null;
        }

        var folded = $"lower({column} COLLATE \"C\")";
        var alternatives = new List<string>();
        List<Regex>? regexes = null;
        var exact = patterns.Where(p => p.Literal is not null).Select(p => AsciiLower(p.Literal!)).ToArray();
        if (exact.Length > 0 && exactInSql)
        {
            alternatives.Add($"{folded} = ANY(@{column}s)");
            command.Parameters.Add(Texts(column + "s", exact));
        }

        var i = 0;
        foreach (var pattern in patterns.Where(p => p.Literal is null || !exactInSql))
        {
            var like = pattern.Like ?? (pattern.Literal is { } literal ? literal.Replace("\\", "\\\\").Replace("%", "\\%").Replace("_", "\\_") : null);
            if (like is not null)
            {
                alternatives.Add($"{folded} LIKE @{column}{i} ESCAPE '\\'");
                command.Parameters.Add(Text($"{column}{i++}", AsciiLower(like)));
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

    /// <summary>Lower case for A–Z only, as SQLite's NOCASE folds (and lower() with the "C" collation).</summary>
    internal static string AsciiLower(string text) => string.Create(text.Length, text, (span, source) =>
    {
        for (var i = 0; i < source.Length; i++)
        {
            span[i] = source[i] is >= 'A' and <= 'Z' ? (char)(source[i] + 32) : source[i];
        }
    });

    private static bool Matches(Wildcard.Parsed[] patterns, string value) =>
        patterns.Any(p => p.Literal is { } literal ? string.Equals(literal, value, StringComparison.OrdinalIgnoreCase) : p.Regex!.IsMatch(value));

    public IReadOnlyList<LlmTask> FinishedSince(long sinceMs) => Read(connection =>
    {
        using var command = new NpgsqlCommand($"SELECT {TaskColumns} FROM tasks WHERE completed_at >= @since ORDER BY completed_at, id", connection);
        command.Parameters.Add(Long("since", sinceMs));
        return (IReadOnlyList<LlmTask>)ReadTasks(command);
    });

    public IReadOnlyList<LlmAttempt> GetAttempts(long taskId) => Read(connection =>
    {
        using var command = new NpgsqlCommand("""
            SELECT a.task_id, a.number, a.outcome, a.output, a.error, a.error_kind, a.started_at, a.latency_ms,
                   a.input_tokens, a.output_tokens, a.cost_nanousd, a.owner, coalesce(a.request_json, t.request_json),
                   a.structured_output, a.details, a.first_token_ms
            FROM attempts a JOIN tasks t ON t.id = a.task_id
            WHERE a.task_id = @id ORDER BY a.number, a.id
            """, connection);
        command.Parameters.Add(Long("id", taskId));
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

    public IReadOnlyDictionary<long, string> PartialOutputs(IReadOnlyCollection<long> ids) => Read(connection =>
    {
        using var command = new NpgsqlCommand("SELECT id, partial_output FROM tasks WHERE id = ANY(@ids) AND state = 'Running' AND partial_output IS NOT NULL", connection);
        command.Parameters.Add(Longs("ids", ids));
        using var reader = command.ExecuteReader();
        var texts = new Dictionary<long, string>();
        while (reader.Read())
        {
            texts[reader.GetInt64(0)] = reader.GetString(1);
        }

        return (IReadOnlyDictionary<long, string>)texts;
    });

    public IReadOnlyDictionary<LlmTaskState, long> CountByState() => Read(connection =>
    {
        using var command = new NpgsqlCommand("SELECT state, count(*) FROM tasks GROUP BY state", connection);
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

    private List<LlmTask> ReadTasks(NpgsqlCommand command)
    {
        using var reader = command.ExecuteReader();
        return ReadTasks(reader);
    }

    private List<LlmTask> ReadTasks(NpgsqlDataReader reader)
    {
        var tasks = new List<LlmTask>();
        while (reader.Read())
        {
            tasks.Add(ReadTask(reader));
        }

        return tasks;
    }

    private LlmTask ReadTask(NpgsqlDataReader r) => new()
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
        CancelRequested = r.GetInt32(19) != 0,
        StructuredOutput = NullableString(r, 20),
        PartialOutput = NullableString(r, 21),
        BatchId = NullableLong(r, 22),
        StorePath = Path,
    };

    private static string? NullableString(NpgsqlDataReader r, int i) => r.IsDBNull(i) ? null : r.GetString(i);

    private static long? NullableLong(NpgsqlDataReader r, int i) => r.IsDBNull(i) ? null : r.GetInt64(i);

    private static decimal? NullableDecimal(NpgsqlDataReader r, int i) => r.IsDBNull(i) ? null : NanoUsd.ToUsd(r.GetInt64(i));

    private static List<long> ReadIds(NpgsqlDataReader reader)
    {
        var ids = new List<long>();
        while (reader.Read())
        {
            ids.Add(reader.GetInt64(0));
        }

        return ids;
    }
}

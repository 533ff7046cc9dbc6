using System.Text;
using System.Text.RegularExpressions;
using Npgsql;

namespace LlmTasks.Storage.Postgres;

internal sealed partial class PostgresTaskStore
{
    internal const string TaskColumns = StoreRows.TaskColumns;

    public LlmTask? Get(long id) => Query(new TaskQuery { Ids = [id] }).FirstOrDefault();

    public IReadOnlyList<LlmTask> Query(TaskQuery query)
    {
        // An invalid pattern is refused before the store is read.
        var names = query.Names?.Select(Wildcard.Parse).ToArray();
        var models = query.Models?.Select(m => Wildcard.Parse(m, "-Model")).ToArray();
        TaskPaging.Validate(query);
        return Read(connection => Query(connection, query, names, models));
    }

    public long Count(TaskQuery query)
    {
        var names = query.Names?.Select(Wildcard.Parse).ToArray();
        var models = query.Models?.Select(m => Wildcard.Parse(m, "-Model")).ToArray();
        var all = query with { Newest = null, Sort = null, Skip = null, Take = null };
        return Read(connection =>
        {
            using var command = connection.CreateCommand();
            var (where, nameRegexes, modelRegexes) = Where(command, all, names, models);
            if (nameRegexes is not null || modelRegexes is not null)
            {
                return (long)Query(connection, all, names, models).Count; // sets ([a-z]) are matched after the read
            }

            command.CommandText = "SELECT count(*) FROM tasks" + where;
            return Convert.ToInt64(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
        });
    }

    /// <summary>The WHERE clause of a query's filters (empty when none), and the wildcard sets matched after the read.</summary>
    private static (string Sql, List<Regex>? Names, List<Regex>? Models) Where(NpgsqlCommand command, TaskQuery query, Wildcard.Parsed[]? names, Wildcard.Parsed[]? models)
    {
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

        if (TaskPaging.Needle(query) is { } needle)
        {
            where.Add("(strpos(lower(prompt), @text) > 0 OR strpos(lower(coalesce(output, '')), @text) > 0)");
            command.Parameters.Add(Text("text", needle));
        }

        return (where.Count > 0 ? " WHERE " + string.Join(" AND ", where) : string.Empty, nameRegexes, modelRegexes);
    }

    private IReadOnlyList<LlmTask> Query(NpgsqlConnection connection, TaskQuery query, Wildcard.Parsed[]? names, Wildcard.Parsed[]? models)
    {
        using var command = connection.CreateCommand();
        var (where, nameRegexes, modelRegexes) = Where(command, query, names, models);
        var sql = new StringBuilder("SELECT ").Append(TaskColumns).Append(" FROM tasks").Append(where);
        var paged = TaskPaging.IsPaged(query);
        var sliceInMemory = paged && (nameRegexes is not null || modelRegexes is not null);
        if (paged)
        {
            sql.Append(TaskPaging.OrderBy(query)).Append(sliceInMemory ? string.Empty : TaskPaging.Limit(query));
        }

        // With a regex post-filter the LIMIT would count rows the filter drops, so apply Newest afterwards.
        var limitInSql = !paged && query.Newest is { } && nameRegexes is null && modelRegexes is null;
        sql.Append(paged ? string.Empty : limitInSql ? " ORDER BY id DESC LIMIT @newest" : " ORDER BY id");
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

        if (sliceInMemory)
        {
            tasks = TaskPaging.Slice(tasks, query);
        }
        else if (!paged && !limitInSql && query.Newest is { } newest && tasks.Count > newest)
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
            var like = pattern.Like ?? (pattern.Literal is { } literal ? Wildcard.EscapeLike(literal) : null);
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
        using var command = new NpgsqlCommand($"""
            SELECT {StoreRows.AttemptColumns}
            FROM attempts a JOIN tasks t ON t.id = a.task_id
            WHERE a.task_id = @id ORDER BY a.number, a.id
            """, connection);
        command.Parameters.Add(Long("id", taskId));
        using var reader = command.ExecuteReader();
        return StoreRows.Attempts(reader);
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

    private List<LlmTask> ReadTasks(NpgsqlDataReader reader) => StoreRows.Tasks(reader, Path);

    private LlmTask ReadTask(NpgsqlDataReader r) => StoreRows.Task(r, Path);

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

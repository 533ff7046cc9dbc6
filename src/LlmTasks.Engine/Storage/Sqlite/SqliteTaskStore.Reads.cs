using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Data.Sqlite;

namespace LlmTasks.Storage.Sqlite;

internal sealed partial class SqliteTaskStore
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
    private static (string Sql, List<Regex>? Names, List<Regex>? Models) Where(SqliteCommand command, TaskQuery query, Wildcard.Parsed[]? names, Wildcard.Parsed[]? models)
    {
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

        if (!string.IsNullOrEmpty(query.Text))
        {
            // LIKE ignores ASCII case, as lower() does in SQLite, without a lower-cased copy of every prompt and answer
            // (twice as fast over 100,000 tasks: 112 against 251 ms); %, _ and \ in the text are escaped, so they match themselves.
            where.Add("(prompt LIKE $text ESCAPE '\\' OR output LIKE $text ESCAPE '\\')");
            command.Parameters.AddWithValue("$text", "%" + Wildcard.EscapeLike(query.Text) + "%");
        }

        return (where.Count > 0 ? " WHERE " + string.Join(" AND ", where) : string.Empty, nameRegexes, modelRegexes);
    }

    private IReadOnlyList<LlmTask> Query(SqliteConnection connection, TaskQuery query, Wildcard.Parsed[]? names, Wildcard.Parsed[]? models)
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
        var limitInSql = !paged && query.Newest is { } n && nameRegexes is null && modelRegexes is null;
        sql.Append(paged ? string.Empty : limitInSql ? " ORDER BY id DESC LIMIT $newest" : " ORDER BY id");
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
            var like = pattern.Like ?? (pattern.Literal is { } literal ? Wildcard.EscapeLike(literal) : null);
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
        command.CommandText = $"""
            SELECT {StoreRows.AttemptColumns}
            FROM attempts a JOIN tasks t ON t.id = a.task_id
            WHERE a.task_id = $id ORDER BY a.number, a.id
            """;
        command.Parameters.AddWithValue("$id", taskId);
        using var reader = command.ExecuteReader();
        return StoreRows.Attempts(reader);
    });

    private List<LlmTask> ReadTasks(SqliteCommand command)
    {
        using var reader = command.ExecuteReader();
        return StoreRows.Tasks(reader, Path);
    }

    internal LlmTask ReadTask(SqliteDataReader r) => StoreRows.Task(r, Path);
}

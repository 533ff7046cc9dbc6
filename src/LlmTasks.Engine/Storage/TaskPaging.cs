namespace LlmTasks.Storage;

/// <summary>
/// What both backends share of a sorted, paged or text-filtered <see cref="TaskQuery"/>: the ORDER BY (valid in SQLite
/// and PostgreSQL alike, tasks without a value always last), the LIMIT, and the same slice in memory for the queries
/// whose wildcard sets ([a-z]) are matched after the read.
/// </summary>
internal static class TaskPaging
{
    public static bool IsPaged(TaskQuery query) => query.Sort is not null || query.Skip is not null || query.Take is not null;

    /// <summary>Refuses what cannot be answered, before the store is read.</summary>
    public static void Validate(TaskQuery query)
    {
        if (query.Skip is < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(query), query.Skip, "Skip cannot be negative.");
        }

        if (query.Take is < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(query), query.Take, "Take cannot be negative.");
        }

        if (query.Newest is not null && IsPaged(query))
        {
            throw new ArgumentException("Newest cannot be combined with Sort, Skip or Take: sort by Created, descending, and Take instead.", nameof(query));
        }
    }

    /// <summary>The text filter's needle, lower case (PostgreSQL compares it with lower-cased prompt and output; SQLite uses LIKE).</summary>
    public static string? Needle(TaskQuery query) => string.IsNullOrEmpty(query.Text) ? null : query.Text.ToLowerInvariant();

    public static string OrderBy(TaskQuery query)
    {
        var direction = query.Descending ? "DESC" : "ASC";
        var column = (query.Sort ?? TaskSort.Created) switch
        {
            TaskSort.Name => "name",
            TaskSort.Model => "model",
            TaskSort.State => "state",
            TaskSort.Cost => "cost_nanousd",
            TaskSort.Finished => "completed_at",
            _ => null,
        };
        return column is null ? $" ORDER BY id {direction}" : $" ORDER BY ({column} IS NULL), {column} {direction}, id {direction}";
    }

    /// <summary>The LIMIT clause (the values are validated integers, so they are written into the text).</summary>
    public static string Limit(TaskQuery query) => $" LIMIT {query.Take ?? int.MaxValue} OFFSET {query.Skip ?? 0}";

    public static List<LlmTask> Slice(List<LlmTask> tasks, TaskQuery query) =>
        tasks.Skip(query.Skip ?? 0).Take(query.Take ?? int.MaxValue).ToList();
}

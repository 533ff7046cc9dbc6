using System.Collections.Specialized;
using System.Globalization;
using LlmTasks.Storage;

namespace LlmTasks.Board;

/// <summary>
/// The task list's filters, order and page as its address carries them (<c>/tasks?name=nightly-*&amp;state=Failed&amp;page=2</c>),
/// read into a store query; a value that cannot be read is kept as a message for the page instead of an error page.
/// </summary>
internal sealed record BoardQuery
{
    public const int MaxPageSize = 500;

    public string? Name { get; init; }
    public string? Model { get; init; }
    public IReadOnlyList<LlmTaskState> States { get; init; } = [];
    public string? Text { get; init; }
    public DateTime? After { get; init; }
    public DateTime? Before { get; init; }
    public TaskSort Sort { get; init; } = TaskSort.Created;
    public bool Descending { get; init; } = true;
    public int Page { get; init; } = 1;
    public int PageSize { get; init; }
    public IReadOnlyList<string> Problems { get; init; } = [];

    public static BoardQuery Parse(NameValueCollection values, int defaultPageSize)
    {
        var problems = new List<string>();
        var states = new List<LlmTaskState>();
        foreach (var text in (values.GetValues("state") ?? []).SelectMany(v => v.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)))
        {
            if (Enum.TryParse<LlmTaskState>(text, ignoreCase: true, out var state) && Enum.IsDefined(state))
            {
                states.Add(state);
            }
            else
            {
                problems.Add($"'{text}' is not a task state ({string.Join(", ", Enum.GetNames<LlmTaskState>())}).");
            }
        }

        var sort = TaskSort.Created;
        if (Blank(values["sort"]) is { } sortText && !(Enum.TryParse(sortText, ignoreCase: true, out sort) && Enum.IsDefined(sort)))
        {
            problems.Add($"'{sortText}' is not an order to sort by ({string.Join(", ", Enum.GetNames<TaskSort>())}).");
            sort = TaskSort.Created;
        }

        return new BoardQuery
        {
            Name = Blank(values["name"]),
            Model = Blank(values["model"]),
            States = states.Distinct().ToArray(),
            Text = Blank(values["text"]),
            After = Instant(values["after"], "after", problems),
            Before = Instant(values["before"], "before", problems),
            Sort = sort,
            Descending = Blank(values["dir"]) is not { } dir || !dir.Equals("asc", StringComparison.OrdinalIgnoreCase),
            Page = Whole(values["page"], "page", 1, int.MaxValue / MaxPageSize, 1, problems),
            PageSize = Whole(values["size"], "size", 1, MaxPageSize, defaultPageSize, problems),
            Problems = problems,
        };
    }

    /// <summary>The store query for one page of the list.</summary>
    public TaskQuery ToTaskQuery() => Filters() with
    {
        Sort = Sort,
        Descending = Descending,
        Skip = (Page - 1) * PageSize,
        Take = PageSize,
    };

    /// <summary>The filters alone (what the page's total counts).</summary>
    public TaskQuery Filters() => new()
    {
        Names = Name is null ? null : Split(Name),
        Models = Model is null ? null : Split(Model),
        States = States.Count == 0 ? null : States,
        Text = Text,
        After = After,
        Before = Before,
    };

    /// <summary>This query's address with some values changed (null removes one): for paging and sort links.</summary>
    public string Link(int? page = null, TaskSort? sort = null, bool? descending = null)
    {
        var pairs = new List<(string, string)>();
        void Add(string key, string? value)
        {
            if (value is not null)
            {
                pairs.Add((key, value));
            }
        }

        Add("name", Name);
        Add("model", Model);
        foreach (var state in States)
        {
            Add("state", state.ToString());
        }

        Add("text", Text);
        Add("after", After?.ToString(InputFormat, CultureInfo.InvariantCulture));
        Add("before", Before?.ToString(InputFormat, CultureInfo.InvariantCulture));
        Add("sort", (sort ?? Sort).ToString());
        Add("dir", descending ?? Descending ? "desc" : "asc");
        Add("page", (page ?? Page).ToString(CultureInfo.InvariantCulture));
        Add("size", PageSize.ToString(CultureInfo.InvariantCulture));
        return "/tasks?" + string.Join("&", pairs.Select(p => Uri.EscapeDataString(p.Item1) + "=" + Uri.EscapeDataString(p.Item2)));
    }

    /// <summary>How a datetime-local input writes an instant (the board's machine's local time: the browser runs there too).</summary>
    public const string InputFormat = "yyyy-MM-ddTHH:mm";

    private static string[] Split(string text) => text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    private static string? Blank(string? text) => string.IsNullOrWhiteSpace(text) ? null : text.Trim();

    private static DateTime? Instant(string? text, string field, List<string> problems)
    {
        if (Blank(text) is not { } value)
        {
            return null;
        }

        if (DateTime.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeLocal, out var instant))
        {
            return DateTime.SpecifyKind(instant, DateTimeKind.Local);
        }

        problems.Add($"'{value}' is not a date and time for '{field}' (write it as 2026-12-01T09:30).");
        return null;
    }

    private static int Whole(string? text, string field, int min, int max, int fallback, List<string> problems)
    {
        if (Blank(text) is not { } value)
        {
            return fallback;
        }

        if (int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n >= min && n <= max)
        {
            return n;
        }

        problems.Add($"'{value}' is not a {field} from {min} to {max}.");
        return fallback;
    }
}

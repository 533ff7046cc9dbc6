using System.Collections.Specialized;
using System.Globalization;
using System.Text;
using LlmTasks.Storage;
using static LlmTasks.Board.Html;

namespace LlmTasks.Board;

/// <summary>
/// The task list: filters (name and model with wildcards, state, text in the prompt or answer, a time range), an order
/// and pages, all answered by the store (<see cref="TaskQuery"/> paging and <see cref="ITaskStore.Count"/>), so a page
/// of 100,000 tasks costs one indexed read and one count.
/// </summary>
internal static class TaskListPage
{
    public static BoardPage Render(BoardContext board, NameValueCollection values)
    {
        var query = BoardQuery.Parse(values, board.Options.PageSize);
        var live = new StringBuilder();
        if (query.Problems.Count > 0)
        {
            live.Append("<div class=\"problems\" role=\"alert\">").Append(string.Join("<br>", query.Problems.Select(E))).Append("</div>");
        }

        try
        {
            var total = board.Store.Count(query.Filters());
            var tasks = board.Store.Query(query.ToTaskQuery());
            var first = total == 0 ? 0 : (long)(query.Page - 1) * query.PageSize + 1;
            var last = Math.Min(total, first + tasks.Count - 1);
            var pager = Pager(query, first, last, total);
            live.Append(pager).Append(TaskTable.Render(tasks, total == 0 ? "No task matches." : "No task on this page.")).Append(pager);
        }
        catch (LlmTasksException e) when (e.ErrorId == ErrorIds.InvalidWildcard)
        {
            live.Append("<div class=\"problems\" role=\"alert\">").Append(E(e.Message)).Append("</div>");
        }

        return new BoardPage("Tasks", "/tasks", live.ToString()) { Fixed = Form(query) };
    }

    private static string Pager(BoardQuery query, long first, long last, long total)
    {
        var sb = new StringBuilder("<div class=\"pager\">")
            .Append($"<span class=\"range\" data-total=\"{total}\">{(total == 0 ? "No tasks" : $"{Int(first)}–{Int(last)} of {Int(total)} tasks")}</span>");
        if (query.Page > 1)
        {
            sb.Append(A(query.Link(page: query.Page - 1), "‹ Previous", "prev"));
        }

        if (last < total)
        {
            sb.Append(A(query.Link(page: query.Page + 1), "Next ›", "next"));
        }

        return sb.Append("</div>").ToString();
    }

    private static string Form(BoardQuery q)
    {
        var sb = new StringBuilder("<h1>Tasks</h1><form class=\"filters\" method=\"get\" action=\"/tasks\">")
            .Append(Input("Name", "name", q.Name, "nightly-* (wildcards; a, b for several)"))
            .Append(Input("Model", "model", q.Model, "openai/*"))
            .Append("<label>State<select name=\"state\"><option value=\"\">any</option>");
        foreach (var state in Enum.GetValues<LlmTaskState>())
        {
            sb.Append($"<option{(q.States.Count == 1 && q.States[0] == state ? " selected" : "")}>{state}</option>");
        }

        sb.Append("</select></label>")
            .Append(Input("Text in prompt or answer", "text", q.Text, "contains…"))
            .Append(Input("Created after", "after", q.After?.ToString(BoardQuery.InputFormat, CultureInfo.InvariantCulture), null, "datetime-local"))
            .Append(Input("Created before", "before", q.Before?.ToString(BoardQuery.InputFormat, CultureInfo.InvariantCulture), null, "datetime-local"))
            .Append("<label>Sort by<select name=\"sort\">");
        foreach (var sort in Enum.GetValues<TaskSort>())
        {
            sb.Append($"<option{(q.Sort == sort ? " selected" : "")}>{sort}</option>");
        }

        sb.Append("</select></label><label>Order<select name=\"dir\">")
            .Append($"<option value=\"desc\"{(q.Descending ? " selected" : "")}>descending</option>")
            .Append($"<option value=\"asc\"{(q.Descending ? "" : " selected")}>ascending</option></select></label>")
            .Append($"<label>Per page<input type=\"number\" name=\"size\" min=\"1\" max=\"{BoardQuery.MaxPageSize}\" value=\"{q.PageSize}\" style=\"width:5rem\"></label>")
            .Append("<button type=\"submit\">Filter</button>")
            .Append("<a href=\"/tasks\">Clear</a></form>");
        return sb.ToString();
    }

    private static string Input(string label, string name, string? value, string? placeholder, string type = "text") =>
        $"<label>{E(label)}<input type=\"{type}\" name=\"{name}\" value=\"{E(value)}\"{(placeholder is null ? "" : $" placeholder=\"{E(placeholder)}\"")}></label>";
}

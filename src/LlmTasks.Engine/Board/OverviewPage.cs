using System.Text;
using LlmTasks.Storage;
using static LlmTasks.Board.Html;

namespace LlmTasks.Board;

/// <summary>The board itself: how many tasks are in each state, what runs now, what needs a person, what failed last.</summary>
internal static class OverviewPage
{
    public static BoardPage Render(BoardContext board)
    {
        var counts = board.Store.CountByState();
        var total = counts.Values.Sum();
        var sb = new StringBuilder("<h1>Tasks by state</h1><div class=\"cards\">")
            .Append($"<a class=\"card total\" href=\"/tasks\"><span class=\"n\" data-count=\"All\">{Int(total)}</span><span class=\"label\">All tasks</span></a>");
        foreach (var state in Enum.GetValues<LlmTaskState>())
        {
            var n = counts.TryGetValue(state, out var c) ? c : 0;
            sb.Append($"<a class=\"card {state.ToString().ToLowerInvariant()}\" href=\"/tasks?state={state}\">")
                .Append($"<span class=\"n\" data-count=\"{state}\">{Int(n)}</span><span class=\"label\">{state}</span></a>");
        }

        sb.Append("</div>");
        // Newest first by id (the index on state and id): a sort by finish time would sort every completed task to show ten.
        Section(sb, board, "Running now", new TaskQuery { States = [LlmTaskState.Running], Sort = TaskSort.Created, Take = 20 }, "Nothing is running.", LlmTaskState.Running);
        Section(sb, board, "Waiting to run", new TaskQuery { States = [LlmTaskState.Pending], Sort = TaskSort.Created, Take = 10 }, "Nothing is waiting.", LlmTaskState.Pending);
        Section(sb, board, "Needs review", new TaskQuery { States = [LlmTaskState.NeedsReview], Sort = TaskSort.Created, Descending = true, Take = 10 }, "Nothing needs review.", LlmTaskState.NeedsReview);
        Section(sb, board, "Newest failed", new TaskQuery { States = [LlmTaskState.Failed], Sort = TaskSort.Created, Descending = true, Take = 10 }, "Nothing failed.", LlmTaskState.Failed);
        Section(sb, board, "Newest completed", new TaskQuery { States = [LlmTaskState.Completed], Sort = TaskSort.Created, Descending = true, Take = 10 }, "Nothing finished yet.", LlmTaskState.Completed);
        return new BoardPage("Board", "/", sb.ToString());
    }

    private static void Section(StringBuilder sb, BoardContext board, string title, TaskQuery query, string empty, LlmTaskState state)
    {
        var tasks = board.Store.Query(query);
        sb.Append($"<section data-section=\"{state}\"><h2>{E(title)}")
            .Append(tasks.Count > 0 ? $" <a class=\"muted\" href=\"/tasks?state={state}\">all</a>" : "")
            .Append("</h2>").Append(TaskTable.Render(tasks, empty)).Append("</section>");
    }
}

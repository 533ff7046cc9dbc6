using System.Text;
using static LlmTasks.Board.Html;

namespace LlmTasks.Board;

/// <summary>The rows of tasks the board and the list show, each linking to its task page.</summary>
internal static class TaskTable
{
    public static string Render(IReadOnlyList<LlmTask> tasks, string empty)
    {
        if (tasks.Count == 0)
        {
            return $"<p class=\"empty\">{E(empty)}</p>";
        }

        var sb = new StringBuilder("<table class=\"tasks\"><thead><tr>")
            .Append("<th class=\"num\">Id</th><th>Name</th><th>State</th><th>Model</th><th>Created</th><th>Finished</th>")
            .Append("<th class=\"num\">Duration</th><th class=\"num\">Tokens in/out</th><th class=\"num\">Cost</th><th class=\"num\">Attempts</th><th>Prompt · answer or error</th>")
            .Append("</tr></thead><tbody>");
        foreach (var t in tasks)
        {
            sb.Append("<tr data-id=\"").Append(t.Id).Append("\">")
                .Append("<td class=\"num\">").Append(A($"/tasks/{t.Id}", t.Id.ToString(System.Globalization.CultureInfo.InvariantCulture))).Append("</td>")
                .Append("<td>").Append(E(t.Name)).Append("</td>")
                .Append("<td>").Append(State(t.State)).Append("</td>")
                .Append("<td>").Append(E(t.Model)).Append("</td>")
                .Append("<td>").Append(Time(t.CreatedAt)).Append("</td>")
                .Append("<td>").Append(Time(t.CompletedAt)).Append("</td>")
                .Append("<td class=\"num\">").Append(Seconds(t.Duration)).Append("</td>")
                .Append("<td class=\"num\">").Append(t.InputTokens is null && t.OutputTokens is null ? "" : $"{Int(t.InputTokens)} / {Int(t.OutputTokens)}").Append("</td>")
                .Append("<td class=\"num\">").Append(Cost(t.CostUsd)).Append("</td>")
                .Append("<td class=\"num\">").Append(t.Attempts).Append("</td>")
                .Append("<td>").Append(Short(t.Prompt, 80));
            var outcome = t.Error ?? t.Output ?? t.PartialOutput;
            if (!string.IsNullOrEmpty(outcome))
            {
                sb.Append("<br><span class=\"").Append(t.Error is null ? "muted" : "failedcheck").Append("\">").Append(Short(outcome, 120)).Append("</span>");
            }

            sb.Append("</td></tr>");
        }

        return sb.Append("</tbody></table>").ToString();
    }
}

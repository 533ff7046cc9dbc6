using System.Globalization;
using System.Text;
using LlmTasks.Verification;
using static LlmTasks.Board.Html;

namespace LlmTasks.Board;

/// <summary>One task: its facts, its conversation, every model call made for it and every check with its reason.</summary>
internal static class TaskDetailPage
{
    public static BoardPage Render(BoardContext board, long id)
    {
        if (board.Store.Get(id) is not { } task)
        {
            return new BoardPage($"Task {id}", "/tasks", $"<h1>Task {id}</h1><p class=\"problems\">The store has no task {id}: it was removed, or the link is from another store.</p> <p>{A("/tasks", "All tasks")}</p>") { Status = 404 };
        }

        var attempts = board.Store.GetAttempts(id);
        var checks = board.Store.GetChecks([id]).TryGetValue(id, out var found) ? found : [];
        var sb = new StringBuilder()
            .Append("<h1>Task ").Append(id).Append(task.Name is null ? "" : " · " + E(task.Name)).Append(' ').Append(State(task.State)).Append("</h1>");
        if (board.Options.AllowActions)
        {
            sb.Append(Actions(task));
        }

        sb.Append(Facts(
            ("Model", E(task.Model)),
            ("Created", Time(task.CreatedAt)),
            ("Started", Time(task.StartedAt)),
            ("Finished", Time(task.CompletedAt)),
            ("Duration", Seconds(task.Duration)),
            ("Attempts", task.Attempts.ToString(CultureInfo.InvariantCulture)),
            ("Tokens in / out", task.InputTokens is null && task.OutputTokens is null ? "" : $"{Int(task.InputTokens)} / {Int(task.OutputTokens)}"),
            ("Cost", Cost(task.CostUsd)),
            ("Held by", E(task.Owner)),
            ("Lease until", Time(task.LeaseExpiresAt)),
            ("Stop asked", task.CancelRequested ? "yes" : ""),
            ("Provider batch", task.BatchId?.ToString(CultureInfo.InvariantCulture) ?? ""),
            ("Instance id", E(task.InstanceId.ToString())),
            ("Error kind", E(task.ErrorKind)),
            ("Error", task.Error is null ? "" : $"<span class=\"failedcheck\">{E(task.Error)}</span>")));

        sb.Append("<h2>Conversation</h2>").Append(Conversation(task));
        if (task.StructuredOutput is not null)
        {
            sb.Append("<h2>Structured answer (JSON)</h2>").Append(Pre(task.StructuredOutput));
        }

        sb.Append("<h2>Attempts</h2>").Append(Attempts(attempts));
        sb.Append("<h2>Checks</h2>").Append(Checks(checks));
        return new BoardPage($"Task {id}", "/tasks", sb.ToString());
    }

    private static string Actions(LlmTask task)
    {
        var sb = new StringBuilder("<div class=\"actions\">");
        void Button(string action, string label, string css, string? confirm = null) =>
            sb.Append($"<button type=\"button\" class=\"{css}\" data-action=\"/tasks/{task.Id}/{action}\"")
              .Append(confirm is null ? "" : $" data-confirm=\"{E(confirm)}\"").Append($">{label}</button>");

        if (!task.State.IsTerminal())
        {
            Button("stop", "Stop", "secondary");
        }

        if (task.State.IsRestartable())
        {
            Button("restart", "Restart", "secondary");
        }

        if (task.State == LlmTaskState.NeedsReview)
        {
            Button("approve", "Approve", "");
        }

        if (task.State.IsTerminal())
        {
            Button("remove", "Remove", "danger", $"Remove task {task.Id} with its attempts and checks? This cannot be undone.");
        }

        return sb.Append("</div>").ToString();
    }

    private static string Conversation(LlmTask task)
    {
        var sb = new StringBuilder();
        IReadOnlyList<LlmMessage> messages;
        try
        {
            messages = task.Request.Messages;
        }
        catch (Exception e) when (e is InvalidOperationException or System.Text.Json.JsonException)
        {
            messages = [new LlmMessage(LlmRole.User, task.Prompt)];
        }

        foreach (var message in messages)
        {
            sb.Append(Message(message.Role.ToString(), message.Content));
        }

        if (task.Output is not null)
        {
            sb.Append(Message("Assistant (answer)", task.Output));
        }
        else if (task.PartialOutput is not null)
        {
            sb.Append(Message("Assistant (so far)", task.PartialOutput));
        }
        else if (!task.State.IsTerminal())
        {
            sb.Append("<p class=\"empty\">No answer yet.</p>");
        }

        return sb.ToString();
    }

    private static string Message(string role, string content) =>
        $"<div class=\"message\"><div class=\"role\">{E(role)}</div>{Pre(content)}</div>";

    private static string Attempts(IReadOnlyList<LlmAttempt> attempts)
    {
        if (attempts.Count == 0)
        {
            return "<p class=\"empty\">No model call was made yet.</p>";
        }

        var sb = new StringBuilder("<table class=\"attempts\"><thead><tr><th class=\"num\">#</th><th>Outcome</th><th>Model</th><th>Started</th>")
            .Append("<th class=\"num\">Latency</th><th class=\"num\">First token</th><th class=\"num\">Tokens in/out</th><th class=\"num\">Cost</th><th>Error</th><th>Process</th></tr></thead><tbody>");
        foreach (var a in attempts)
        {
            sb.Append("<tr>")
                .Append("<td class=\"num\">").Append(a.Number).Append("</td>")
                .Append("<td>").Append(E(a.Outcome.ToString())).Append("</td>")
                .Append("<td>").Append(E(a.Model)).Append("</td>")
                .Append("<td>").Append(Time(a.StartedAt)).Append("</td>")
                .Append("<td class=\"num\">").Append(Seconds(a.Latency)).Append("</td>")
                .Append("<td class=\"num\">").Append(Seconds(a.TimeToFirstToken)).Append("</td>")
                .Append("<td class=\"num\">").Append(a.InputTokens is null && a.OutputTokens is null ? "" : $"{Int(a.InputTokens)} / {Int(a.OutputTokens)}").Append("</td>")
                .Append("<td class=\"num\">").Append(Cost(a.CostUsd)).Append("</td>")
                .Append("<td>").Append(a.ErrorKind is null ? "" : $"<b>{E(a.ErrorKind)}</b> ").Append(E(a.Error)).Append("</td>")
                .Append("<td>").Append(E(a.Owner)).Append("</td></tr>");
            var more = new StringBuilder();
            if (a.DetailsJson is not null)
            {
                more.Append("<details><summary>Provider details</summary>").Append(Pre(a.DetailsJson)).Append("</details>");
            }

            if (a.Messages.Count > 0)
            {
                more.Append("<details><summary>Conversation sent (").Append(a.Messages.Count).Append(" messages)</summary>");
                foreach (var m in a.Messages)
                {
                    more.Append(Message(m.Role.ToString(), m.Content));
                }

                more.Append("</details>");
            }

            if (a.Output is not null)
            {
                more.Append("<details><summary>Answer of this call</summary>").Append(Pre(a.Output)).Append("</details>");
            }

            if (more.Length > 0)
            {
                sb.Append("<tr class=\"more\"><td></td><td colspan=\"9\">").Append(more).Append("</td></tr>");
            }
        }

        return sb.Append("</tbody></table>").ToString();
    }

    private static string Checks(IReadOnlyList<LlmCheckResult> checks)
    {
        if (checks.Count == 0)
        {
            return "<p class=\"empty\">The task has no checks.</p>";
        }

        var sb = new StringBuilder("<table class=\"checks\"><thead><tr><th class=\"num\">Attempt</th><th>Check</th><th>Result</th><th>Reason</th><th>Suggestion</th><th class=\"num\">Took</th></tr></thead><tbody>");
        foreach (var c in checks)
        {
            var result = c.Unavailable ? "<span class=\"muted\">could not run</span>"
                : c.Passed ? "<span class=\"passed\">passed</span>" : "<span class=\"failedcheck\">failed</span>";
            sb.Append("<tr>")
                .Append("<td class=\"num\">").Append(c.Attempt?.ToString(CultureInfo.InvariantCulture) ?? "").Append("</td>")
                .Append("<td>").Append(E(c.Label)).Append(c.Name is null || c.Name == c.Type ? "" : $" <span class=\"muted\">({E(c.Type)})</span>").Append("</td>")
                .Append("<td>").Append(result).Append(c.ErrorKind is null ? "" : $" <b>{E(c.ErrorKind)}</b>").Append("</td>")
                .Append("<td>").Append(E(c.Reason));
            if (c.Details is not null)
            {
                sb.Append("<details><summary>Details</summary>").Append(Pre(c.Details)).Append("</details>");
            }

            sb.Append("</td><td>").Append(E(c.Suggestion)).Append("</td>")
                .Append("<td class=\"num\">").Append(Seconds(c.Duration)).Append("</td></tr>");
        }

        return sb.Append("</tbody></table>").ToString();
    }
}

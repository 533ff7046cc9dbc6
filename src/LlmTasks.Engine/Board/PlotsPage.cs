using System.Globalization;
using System.Text;
using LlmTasks.Storage;
using static LlmTasks.Board.Html;

namespace LlmTasks.Board;

/// <summary>
/// Plots of the newest tasks (<see cref="BoardOptions.PlotSample"/>): finished per minute by outcome, latency percentiles
/// per model, cost per model and per day, and the queue over time. Each comes with its numbers in a table.
/// </summary>
internal static class PlotsPage
{
    private static readonly (LlmTaskState State, string Color)[] Outcomes =
    [
        (LlmTaskState.Completed, "#1f8a4c"), (LlmTaskState.NeedsReview, "#7b3fc4"), (LlmTaskState.Failed, "#c8372d"), (LlmTaskState.Cancelled, "#a0660b"),
    ];

    public static BoardPage Render(BoardContext board)
    {
        var tasks = board.Store.Query(new TaskQuery { Newest = board.Options.PlotSample });
        var total = board.Store.Count(TaskQuery.All);
        var now = board.Time.GetLocalNow().DateTime;
        var sb = new StringBuilder("<h1>Plots</h1>")
            .Append($"<p class=\"muted\" data-sample=\"{tasks.Count}\">Drawn from the newest {Int(tasks.Count)} of {Int(total)} tasks. Times are this machine's local time.</p>");
        if (tasks.Count == 0)
        {
            return new BoardPage("Plots", "/plots", sb.Append("<p class=\"empty\">The store has no tasks yet.</p>").ToString());
        }

        sb.Append("<div class=\"plots\">")
            .Append(PerMinute(tasks))
            .Append(Latency(tasks))
            .Append(CostPerModel(tasks))
            .Append(CostPerDay(tasks))
            .Append(Queue(tasks, now))
            .Append("</div>");
        return new BoardPage("Plots", "/plots", sb.ToString());
    }

    private static string PerMinute(IReadOnlyList<LlmTask> tasks)
    {
        var finished = tasks.Where(t => t.IsFinished && t.CompletedAt is not null).ToArray();
        if (finished.Length == 0)
        {
            return Figure("finished", "Tasks finished per minute, by outcome", "<p class=\"empty\">No task has finished yet.</p>", [], []);
        }

        var start = Floor(finished.Min(t => t.CompletedAt!.Value));
        var end = finished.Max(t => t.CompletedAt!.Value);
        var minutes = Math.Max(1, (int)Math.Ceiling((end - start).TotalMinutes + 1e-9));
        var binMinutes = Math.Max(1, (int)Math.Ceiling(minutes / 30.0));
        var bins = (int)Math.Ceiling(minutes / (double)binMinutes);
        var labels = Enumerable.Range(0, bins).Select(i => start.AddMinutes(i * binMinutes).ToString("HH:mm", CultureInfo.InvariantCulture)).ToArray();
        var series = Outcomes.Select(o =>
        {
            var values = new double[bins];
            foreach (var t in finished.Where(t => t.State == o.State))
            {
                values[Math.Min(bins - 1, (int)((t.CompletedAt!.Value - start).TotalMinutes / binMinutes))] += 1.0 / binMinutes;
            }

            return new Series(o.State.ToString(), o.Color, values);
        }).ToArray();
        var title = binMinutes == 1 ? "Tasks finished per minute, by outcome" : $"Tasks finished per minute, by outcome ({binMinutes}-minute bins)";
        return Figure("finished", title, SvgChart.Bars(title, labels, series, stacked: true, Rate), ["From", .. series.Select(s => s.Name)],
            labels.Select((l, i) => (string[])[l, .. series.Select(s => Rate(s.Values[i]))]));
    }

    private static string Latency(IReadOnlyList<LlmTask> tasks)
    {
        var byModel = tasks.Where(t => t.IsFinished && t.Duration is not null && t.State != LlmTaskState.Cancelled)
            .GroupBy(t => t.Model, StringComparer.OrdinalIgnoreCase)
            .OrderByDescending(g => g.Count()).Take(12)
            .Select(g => (Model: g.Key, Count: g.Count(), Sorted: g.Select(t => t.Duration!.Value).Order().ToArray()))
            .ToArray();
        const string title = "Latency per model (start to finish): 50th, 90th and 99th percentile";
        if (byModel.Length == 0)
        {
            return Figure("latency", title, "<p class=\"empty\">No task has finished yet.</p>", [], []);
        }

        double[] Column(double p) => byModel.Select(m => Percentile(m.Sorted, p)).ToArray();
        Series[] series = [new("p50", "#6f9cf0", Column(0.5)), new("p90", "#2458d3", Column(0.9)), new("p99", "#15337a", Column(0.99))];
        var rows = byModel.Select(m => m.Model).ToArray();
        return Figure("latency", title, SvgChart.RowBars(title, rows, series, Sec), ["Model", "Tasks", "p50", "p90", "p99"],
            byModel.Select((m, i) => (string[])[m.Model, Int(m.Count), Sec(series[0].Values[i]), Sec(series[1].Values[i]), Sec(series[2].Values[i])]));
    }

    private static string CostPerModel(IReadOnlyList<LlmTask> tasks)
    {
        var byModel = tasks.GroupBy(t => t.Model, StringComparer.OrdinalIgnoreCase)
            .Select(g => (Model: g.Key, Count: g.Count(), Cost: g.Sum(t => t.CostUsd ?? 0)))
            .OrderByDescending(m => m.Cost).ThenBy(m => m.Model, StringComparer.OrdinalIgnoreCase).Take(12).ToArray();
        const string title = "Cost per model (USD)";
        Series[] series = [new("cost", "#1f8a4c", byModel.Select(m => (double)m.Cost).ToArray())];
        return Figure("cost-model", title, SvgChart.RowBars(title, byModel.Select(m => m.Model).ToArray(), series, Usd), ["Model", "Tasks", "Cost"],
            byModel.Select(m => (string[])[m.Model, Int(m.Count), Cost(m.Cost)]));
    }

    private static string CostPerDay(IReadOnlyList<LlmTask> tasks)
    {
        var byDay = tasks.GroupBy(t => t.CreatedAt.ToLocalTime().Date)
            .Select(g => (Day: g.Key, Count: g.Count(), Cost: g.Sum(t => t.CostUsd ?? 0)))
            .OrderBy(d => d.Day).TakeLast(31).ToArray();
        const string title = "Cost per day (USD, by the day a task was created)";
        var labels = byDay.Select(d => d.Day.ToString("MM-dd", CultureInfo.InvariantCulture)).ToArray();
        Series[] series = [new("cost", "#1f8a4c", byDay.Select(d => (double)d.Cost).ToArray())];
        return Figure("cost-day", title, SvgChart.Bars(title, labels, series, stacked: true, Usd), ["Day", "Tasks", "Cost"],
            byDay.Select(d => (string[])[d.Day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), Int(d.Count), Cost(d.Cost)]));
    }

    /// <summary>How many tasks were waiting (created, not started) and running at 60 instants from the first task's creation to now.</summary>
    private static string Queue(IReadOnlyList<LlmTask> tasks, DateTime now)
    {
        var start = tasks.Min(t => t.CreatedAt.ToLocalTime());
        var end = now > start ? now : start.AddMinutes(1);
        const int points = 60;
        var instants = Enumerable.Range(0, points).Select(i => start + (end - start) * i / (points - 1)).ToArray();
        var waiting = new double[points];
        var running = new double[points];
        foreach (var t in tasks)
        {
            var created = t.CreatedAt.ToLocalTime();
            var started = t.StartedAt?.ToLocalTime();
            var finished = t.CompletedAt?.ToLocalTime();
            for (var i = 0; i < points; i++)
            {
                var at = instants[i];
                if (created > at || (finished is { } f && f <= at))
                {
                    continue;
                }

                if (started is { } s && s <= at)
                {
                    running[i]++;
                }
                else
                {
                    waiting[i]++;
                }
            }
        }

        var format = (end - start).TotalHours >= 24 ? "MM-dd HH:mm" : "HH:mm:ss";
        var labels = instants.Select(i => i.ToString(format, CultureInfo.InvariantCulture)).ToArray();
        const string title = "Queue over time: tasks waiting and running";
        Series[] series = [new("waiting", "#8a94a6", waiting), new("running", "#2458d3", running)];
        return Figure("queue", title, SvgChart.Lines(title, labels, series, Whole), ["At", "Waiting", "Running"],
            labels.Select((l, i) => (string[])[l, Whole(waiting[i]), Whole(running[i])]));
    }

    private static string Figure(string id, string title, string chart, string[] columns, IEnumerable<string[]> rows)
    {
        var sb = new StringBuilder($"<figure data-plot=\"{id}\"><figcaption>{E(title)}</figcaption>").Append(chart);
        if (columns.Length > 0)
        {
            sb.Append("<details><summary>Numbers</summary><table><thead><tr>");
            foreach (var c in columns)
            {
                sb.Append("<th>").Append(E(c)).Append("</th>");
            }

            sb.Append("</tr></thead><tbody>");
            foreach (var row in rows)
            {
                sb.Append("<tr>");
                foreach (var cell in row)
                {
                    sb.Append("<td>").Append(E(cell)).Append("</td>");
                }

                sb.Append("</tr>");
            }

            sb.Append("</tbody></table></details>");
        }

        return sb.Append("</figure>").ToString();
    }

    private static double Percentile(double[] sorted, double p) => sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Length) - 1, 0, sorted.Length - 1)];

    private static DateTime Floor(DateTime instant)
    {
        var local = instant.ToLocalTime();
        return new DateTime(local.Year, local.Month, local.Day, local.Hour, local.Minute, 0, DateTimeKind.Local);
    }

    private static string Rate(double v) => v.ToString(v >= 10 || v == Math.Floor(v) ? "0" : "0.##", CultureInfo.InvariantCulture);

    private static string Sec(double v) => Seconds(v);

    private static string Usd(double v) => "$" + v.ToString(v >= 1 ? "0.00" : "0.####", CultureInfo.InvariantCulture);

    private static string Whole(double v) => v.ToString("0", CultureInfo.InvariantCulture);
}

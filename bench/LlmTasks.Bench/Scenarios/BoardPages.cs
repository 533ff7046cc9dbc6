using System.Diagnostics;
using System.Net;

namespace LlmTasks.Bench.Scenarios;

/// <summary>
/// Scenario 10: the task board's pages over a store of many tasks (the Queries scenario's seed), timed as a browser
/// fetches them over loopback HTTP; beside them, the same list answered the way a script without the board's store-side
/// paging would: every task read with Get-LlmTask, then paged or filtered in PowerShell.
/// </summary>
internal static class BoardPages
{
    private const string InPipeline = """
        param($store, $runs)
        $times = [System.Collections.Generic.List[double]]::new()
        foreach ($i in 1..$runs) {
            $sw = [System.Diagnostics.Stopwatch]::StartNew()
            # Oldest first: the newest-first rows 49,951-50,000 indexed out of the array (cheaper than Sort-Object | Select-Object).
            $all = @(Get-LlmTask -StorePath $store)
            $page = $all[($all.Count - 50000)..($all.Count - 49951)]
            $times.Add($sw.Elapsed.TotalMilliseconds)
            if (@($page).Count -ne 50) { throw "the page holds $(@($page).Count) tasks; the store has $(@(Get-LlmTask -StorePath $store).Count)" }
        }
        foreach ($i in 1..$runs) {
            $sw = [System.Diagnostics.Stopwatch]::StartNew()
            $found = Get-LlmTask -StorePath $store | Where-Object { $_.Prompt -like '*document 4242 *' -or $_.Output -like '*document 4242 *' }
            $times.Add($sw.Elapsed.TotalMilliseconds)
            if (@($found).Count -ne 1) { throw 'the text was not found once' }
        }
        $times
        """;

    public static ScenarioResult Run(BenchOptions o, Workspace work)
    {
        var store = work.NewStore();
        using var ps = new PsSession();
        ps.Run("param($store) $null = Get-LlmTask -StorePath $store", store);
        var seed = Stopwatch.StartNew();
        Queries.Seed(store, o.StoreTasks);
        seed.Stop();
        Console.Error.WriteLine($"  seeded {o.StoreTasks} tasks in {seed.ElapsedMilliseconds} ms");

        var url = ps.Run("param($store) (Start-LlmTaskBoard -StorePath $store -NoBrowser).Url", store)[0].ToString();
        using var http = new HttpClient(new HttpClientHandler { CookieContainer = new CookieContainer() });
        http.GetAsync(url).GetAwaiter().GetResult().EnsureSuccessStatusCode(); // the token for the cookie
        var origin = new Uri(url).GetLeftPart(UriPartial.Authority);
        var middle = o.StoreTasks / 2;
        var failedSeven = Enumerable.Range(0, o.StoreTasks).Count(i => i % 20 == 0 && (i / 1000).ToString(System.Globalization.CultureInfo.InvariantCulture).StartsWith('7'));
        (string Label, string Path, string Expect)[] pages =
        [
            ("list, first page (newest 50, with the total)", "/tasks", $"of {Format.Int(o.StoreTasks)} tasks"),
            ("list, page 1,000 (rows 49,951–50,000)", "/tasks?page=1000", "49,951–50,000"),
            ("list, name wildcard + state, sorted by finish", "/tasks?name=seed-7*&state=Failed&sort=Finished", $"of {Format.Int(failedSeven)} tasks"),
            ("list, text in prompt or answer", "/tasks?text=document%204242%20in", "1–1 of 1 tasks"),
            ("list, sorted by cost, ascending", "/tasks?sort=Cost&dir=asc", "1–50 of"),
            ("board by state", "/", "Tasks by state"),
            ("task page", $"/tasks/{middle}", $"Task {middle}"),
            ("plots (newest 5,000)", "/plots", "newest 5,000"),
        ];

        var table = new Table
        {
            Caption = $"Each page fetched over loopback HTTP from the board that `Start-LlmTaskBoard` serves in a hosted PowerShell session, " +
                      $"{o.QueryRuns} times each after a warm-up, over a store of {Format.Int(o.StoreTasks)} tasks (SQLite, one attempt row each, seeded with SQL in {seed.ElapsedMilliseconds} ms).",
            Columns = ["page", "ms: median (min–max)"],
        };
        var medians = new Dictionary<string, double>();
        foreach (var (label, path, expect) in pages)
        {
            Fetch(http, origin + path, expect);
            var times = new List<double>();
            for (var i = 0; i < o.QueryRuns; i++)
            {
                var sw = Stopwatch.StartNew();
                Fetch(http, origin + path, expect);
                times.Add(sw.Elapsed.TotalMilliseconds);
            }

            var stats = Stats.Of(times);
            medians[path] = stats.Median;
            table.Add($"`{path}` — {label}", stats.Show("0.0"));
        }

        var runs = Math.Max(1, Math.Min(3, o.QueryRuns));
        var pipeline = ps.Numbers(InPipeline, store, runs);
        var deep = Stats.Of(pipeline[..runs]);
        var text = Stats.Of(pipeline[runs..]);
        ps.Run("Stop-LlmTaskBoard");

        var result = new ScenarioResult { Title = $"Task board pages over a store of {Format.Int(o.StoreTasks)} tasks" };
        result.Tables.Add(table);
        result.Tables.Add(new Table
        {
            Caption = $"The same lists the way a script gets them without the board: every task read with `Get-LlmTask`, then paged by indexing the array (cheaper than `Sort-Object | Select-Object -Skip -First`, which the bench's hosted engine, with only the core cmdlets, lacks) or filtered with `Where-Object` ({runs} runs each).",
            Columns = ["pipeline", "ms: median (min–max)", "board page is faster by"],
        }
            .Add("`$all = @(Get-LlmTask); $all[($all.Count - 50000)..($all.Count - 49951)]`", deep.Show("0"), $"{deep.Median / medians["/tasks?page=1000"]:0}×")
            .Add("`Get-LlmTask | Where-Object { $_.Prompt -like '*document 4242 *' -or … }`", text.Show("0"), $"{text.Median / medians["/tasks?text=document%204242%20in"]:0}×"));
        var slowestList = pages.Where(p => p.Path.StartsWith("/tasks?", StringComparison.Ordinal) || p.Path == "/tasks").Max(p => medians[p.Path]);
        result.Targets.Add(new TargetCheck($"slowest list page over {Format.Int(o.StoreTasks)} tasks (median)", $"{slowestList:0.0} ms", "≤ 250 ms", slowestList <= 250));
        result.Targets.Add(new TargetCheck("board by state (median)", $"{medians["/"]:0.0} ms", "≤ 250 ms", medians["/"] <= 250));
        return result;
    }

    private static void Fetch(HttpClient http, string url, string expect)
    {
        var html = http.GetStringAsync(url).GetAwaiter().GetResult();
        if (!html.Contains(expect, StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"{url} did not show '{expect}'.");
        }
    }
}

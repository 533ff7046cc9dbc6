using System.Globalization;
using System.Text.RegularExpressions;
using LlmTasks.Storage;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace LlmTasks.Board.Tests;

/// <summary>
/// The task board in headless chromium, served by Start-LlmTaskBoard in real pwsh: what a person sees and can do, and what
/// the board refuses. The store is changed from this test process, which is another process to the board.
/// </summary>
public sealed class BoardBrowserTests(BoardFixture board) : IClassFixture<BoardFixture>
{
    static BoardBrowserTests() => SetDefaultExpectTimeout(15_000);

    private ITaskStore Store => board.Store.Manager.Store;

    private string ReadOnly => BoardProcess.Origin(board.Boards.ReadOnlyUrl);

    private string Actions => BoardProcess.Origin(board.Boards.ActionsUrl);

    [Fact(Timeout = 120_000)]
    public async Task The_board_loads_with_the_count_of_each_state_and_takes_the_token_out_of_the_address()
    {
        var (context, page, console) = await board.Browser.NewPage();
        try
        {
            var response = await page.GotoAsync(board.Boards.ReadOnlyUrl);
            Assert.Equal(200, response!.Status);
            Assert.Equal(ReadOnly + "/", page.Url); // the token became a cookie
            await Expect(page.Locator("h1")).ToHaveTextAsync("Tasks by state");
            await Expect(page.Locator("header .store")).ToContainTextAsync("read-only");

            var counts = Store.CountByState();
            foreach (var state in new[] { LlmTaskState.Completed, LlmTaskState.Failed, LlmTaskState.Cancelled })
            {
                var n = counts.TryGetValue(state, out var c) ? c : 0;
                Assert.True(n > 0, $"the seeded store has {state} tasks");
                await Expect(page.Locator($"[data-count={state}]")).ToHaveTextAsync(n.ToString("#,0", CultureInfo.InvariantCulture));
            }

            await Expect(page.Locator("[data-section=Failed] tbody tr")).ToHaveCountAsync(10);
            await Expect(page.Locator("[data-section=Failed] tbody tr").First).ToContainTextAsync("429 Too Many Requests");
            await Shot(page, "board.png");
            Assert.DoesNotContain(console, m => m.StartsWith("pageerror", StringComparison.Ordinal) || m.StartsWith("error", StringComparison.Ordinal));
        }
        finally
        {
            await context.CloseAsync();
        }
    }

    [Fact(Timeout = 120_000)]
    public async Task A_wrong_token_or_none_is_refused()
    {
        var (context, page, _) = await board.Browser.NewPage();
        try
        {
            var wrong = await page.GotoAsync(ReadOnly + "/?token=" + new string('A', 43));
            Assert.Equal(403, wrong!.Status);
            await Expect(page.Locator("body")).ToContainTextAsync("Get-LlmTaskBoard");

            var none = await page.GotoAsync(ReadOnly + "/tasks");
            Assert.Equal(403, none!.Status);
            await Expect(page.Locator("body")).Not.ToContainTextAsync("nightly-");

            // One board's token opens only that board.
            var other = await page.GotoAsync(Actions + "/?token=" + new Uri(board.Boards.ReadOnlyUrl).Query.Split('=')[1]);
            Assert.Equal(403, other!.Status);
        }
        finally
        {
            await context.CloseAsync();
        }
    }

    [Fact(Timeout = 120_000)]
    public async Task A_filter_narrows_the_list_and_pages_stay_in_the_store()
    {
        var (context, page, _) = await board.Browser.NewPage();
        try
        {
            await page.GotoAsync(board.Boards.ReadOnlyUrl);
            await page.GotoAsync(ReadOnly + "/tasks");
            var all = Store.Count(TaskQuery.All);
            await Expect(page.Locator(".pager .range").First).ToHaveTextAsync($"1–50 of {all:#,0} tasks");

            await page.FillAsync("input[name=name]", "nightly-*");
            await page.SelectOptionAsync("select[name=state]", "Failed");
            await page.ClickAsync("form.filters button[type=submit]");
            var expected = Store.Count(new TaskQuery { Names = ["nightly-*"], States = [LlmTaskState.Failed] });
            Assert.InRange(expected, 2, 50);
            await Expect(page.Locator(".pager .range").First).ToHaveTextAsync($"1–{expected} of {expected} tasks");
            var rows = page.Locator("table.tasks tbody tr");
            await Expect(rows).ToHaveCountAsync((int)expected);
            foreach (var name in await rows.Locator("td:nth-child(2)").AllTextContentsAsync())
            {
                Assert.StartsWith("nightly-", name);
            }

            Assert.All(await rows.Locator(".state").AllTextContentsAsync(), s => Assert.Equal("Failed", s));
            Assert.Contains("name=nightly-", page.Url); // a filtered list is a link that can be kept

            // Text in the prompt, any case; the form keeps what was asked.
            await page.GotoAsync(ReadOnly + "/tasks");
            await page.FillAsync("input[name=text]", "TICKET #3300 as");
            await page.ClickAsync("form.filters button[type=submit]");
            await Expect(rows).ToHaveCountAsync(1);
            await Expect(rows.First).ToContainTextAsync("Classify support ticket #3300");
            await Expect(page.Locator("input[name=text]")).ToHaveValueAsync("TICKET #3300 as");

            // Sorted by cost, largest first, one page further on.
            await page.GotoAsync(ReadOnly + "/tasks?sort=Cost&dir=desc&size=20&page=2");
            var expectedIds = Store.Query(new TaskQuery { Sort = TaskSort.Cost, Descending = true, Skip = 20, Take = 20 }).Select(t => t.Id.ToString(CultureInfo.InvariantCulture));
            Assert.Equal(expectedIds, await rows.Locator("td:first-child").AllTextContentsAsync());
            await page.GotoAsync(ReadOnly + "/tasks?name=nightly-*&sort=Finished&dir=desc");
            await Shot(page, "list.png");
        }
        finally
        {
            await context.CloseAsync();
        }
    }

    [Fact(Timeout = 120_000)]
    public async Task A_task_finishing_in_another_process_appears_without_a_reload()
    {
        var (context, page, _) = await board.Browser.NewPage();
        try
        {
            await page.GotoAsync(board.Boards.ReadOnlyUrl);
            await page.GotoAsync(ReadOnly + "/tasks?name=late-*");
            await Expect(page.Locator("#live")).ToContainTextAsync("No task matches.");
            await page.EvaluateAsync("() => { window.boardTestMark = 'not reloaded'; }");
            await page.FillAsync("input[name=text]", "typed, not sent"); // the form is outside what updates

            var task = board.Store.Manager.Start(new LlmTaskRequest
            {
                Model = "mock/delay:1500",
                Name = "late-arrival",
                Messages = [new LlmMessage(LlmRole.User, "Arrive late.")],
            });
            var row = page.Locator($"tr[data-id=\"{task.Id}\"]");
            await Expect(row).ToBeVisibleAsync();
            board.Store.WaitFinished([task.Id]);
            await Expect(row.Locator(".state")).ToHaveTextAsync("Completed");
            await Expect(row).ToContainTextAsync("Arrive late.");

            Assert.Equal("not reloaded", await page.EvaluateAsync<string>("() => window.boardTestMark"));
            await Expect(page.Locator("input[name=text]")).ToHaveValueAsync("typed, not sent");
        }
        finally
        {
            await context.CloseAsync();
        }
    }

    [Fact(Timeout = 120_000)]
    public async Task An_action_works_only_on_a_board_that_allows_actions_and_only_from_its_own_pages()
    {
        var (context, page, _) = await board.Browser.NewPage();
        try
        {
            var kept = board.Store.Review[1];
            await page.GotoAsync(board.Boards.ReadOnlyUrl);
            await page.GotoAsync($"{ReadOnly}/tasks/{kept}");
            await Expect(page.Locator("h1 .state")).ToHaveTextAsync("NeedsReview");
            await Expect(page.Locator("button[data-action]")).ToHaveCountAsync(0);
            var status = await page.EvaluateAsync<int>(
                "async id => (await fetch(`/tasks/${id}/approve`, { method: 'POST', headers: { 'X-LlmTasks-Board': '1' } })).status", kept);
            Assert.Equal(403, status);
            Assert.Equal(LlmTaskState.NeedsReview, Store.Get(kept)!.State);

            var approved = board.Store.Review[0];
            await page.GotoAsync(board.Boards.ActionsUrl);
            await page.GotoAsync($"{Actions}/tasks/{approved}");
            await Expect(page.Locator("header .store")).ToContainTextAsync("actions allowed");
            await page.ClickAsync("button[data-action$='/approve']");
            await Expect(page.Locator("#notice")).ToContainTextAsync($"Task {approved} was approved.");
            await Expect(page.Locator("h1 .state")).ToHaveTextAsync("Completed");
            Assert.Equal(LlmTaskState.Completed, Store.Get(approved)!.State);
            Assert.Contains(Store.GetChecks([approved])[approved], c => c.Type == "Approval");

            // Another site in the same browser (same host, another port: same-site, so the cookie would go) tries to remove a task.
            var target = board.Store.Review[2];
            using var foreign = new ForeignSite($$"""
                <!DOCTYPE html><html><body><p id="result">working</p><script>
                (async () => {
                  const results = [];
                  for (const attempt of [
                    () => fetch('{{Actions}}/tasks/{{target}}/remove', { method: 'POST', mode: 'no-cors', credentials: 'include' }),
                    () => fetch('{{Actions}}/tasks/{{target}}/remove', { method: 'POST', credentials: 'include', headers: { 'X-LlmTasks-Board': '1' } }),
                  ]) {
                    try { const r = await attempt(); results.push(r.type + ':' + r.status); } catch (e) { results.push('blocked'); }
                  }
                  document.getElementById('result').textContent = 'done ' + results.join(' ');
                })();
                </script></body></html>
                """);
            await page.GotoAsync(foreign.Url);
            await Expect(page.Locator("#result")).ToContainTextAsync("done");
            Assert.Equal(LlmTaskState.NeedsReview, Store.Get(target)!.State);

            // The board's own page can remove it.
            page.Dialog += (_, dialog) => _ = dialog.AcceptAsync();
            await page.GotoAsync($"{Actions}/tasks/{target}");
            await page.ClickAsync("button[data-action$='/remove']");
            await page.WaitForURLAsync($"{Actions}/tasks");
            Assert.Null(Store.Get(target));
        }
        finally
        {
            await context.CloseAsync();
        }
    }

    [Fact(Timeout = 120_000)]
    public async Task A_task_page_shows_the_conversation_each_attempt_and_each_check_with_its_reason()
    {
        var (context, page, _) = await board.Browser.NewPage();
        try
        {
            var id = board.Store.Reasked;
            await page.GotoAsync(board.Boards.ReadOnlyUrl);
            await page.GotoAsync($"{ReadOnly}/tasks/{id}");
            await Expect(page.Locator("h1")).ToContainTextAsync("release-notes");
            await Expect(page.Locator(".message .role").First).ToHaveTextAsync("System");
            await Expect(page.Locator("main")).ToContainTextAsync("You write release notes for administrators.");
            await Expect(page.Locator("main")).ToContainTextAsync("\"version\":\"2.4\"");

            var attempts = page.Locator("table.attempts > tbody > tr:not(.more)");
            await Expect(attempts).ToHaveCountAsync(2);
            await Expect(attempts.Nth(0)).ToContainTextAsync("mock/sequence");
            var checks = page.Locator("table.checks tbody tr");
            await Expect(checks).ToHaveCountAsync(2);
            var stored = Store.GetChecks([id])[id];
            await Expect(checks.Nth(0)).ToContainTextAsync("failed");
            await Expect(checks.Nth(0)).ToContainTextAsync(stored[0].Reason!);
            await Expect(checks.Nth(1)).ToContainTextAsync("passed");

            // A re-ask sent the failed answer and the feedback: the second attempt's conversation shows it.
            await page.Locator("table.attempts tr.more").Nth(1).Locator("summary", new() { HasText = "Conversation sent" }).ClickAsync();
            await Expect(page.Locator("table.attempts tr.more").Nth(1)).ToContainTextAsync("Version 2.4 adds a task board.");
            await Shot(page, "task.png");
        }
        finally
        {
            await context.CloseAsync();
        }
    }

    [Fact(Timeout = 120_000)]
    public async Task The_plots_show_outcomes_latency_cost_and_the_queue_of_the_newest_tasks()
    {
        var (context, page, _) = await board.Browser.NewPage(1400, 1000);
        try
        {
            await page.GotoAsync(board.Boards.ReadOnlyUrl);
            await page.GotoAsync(ReadOnly + "/plots");
            foreach (var plot in new[] { "finished", "latency", "cost-model", "cost-day", "queue" })
            {
                await Expect(page.Locator($"figure[data-plot={plot}] svg")).ToBeVisibleAsync();
            }

            await Expect(page.Locator("figure[data-plot=finished] svg rect")).Not.ToHaveCountAsync(0);
            var costTable = page.Locator("figure[data-plot=cost-model] table");
            foreach (var (model, _, _, _) in BoardStore.Models)
            {
                await Expect(costTable).ToContainTextAsync(model);
            }

            // The most expensive model per task leads the cost table only if it also spent most: check the order against the store.
            var spent = Store.Query(TaskQuery.All).GroupBy(t => t.Model).OrderByDescending(g => g.Sum(t => t.CostUsd ?? 0)).First().Key;
            await Expect(costTable.Locator("tbody tr").First).ToContainTextAsync(spent);
            await Expect(page.Locator("figure[data-plot=cost-day] table tbody tr")).Not.ToHaveCountAsync(0);
            await Shot(page, "plots.png");
        }
        finally
        {
            await context.CloseAsync();
        }
    }

    private async Task Shot(IPage page, string name)
    {
        var png = await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(board.Screenshots, name), FullPage = name != "plots.png" });
        Assert.True(png.Length > 5_000, $"{name} is {png.Length} bytes");
    }
}

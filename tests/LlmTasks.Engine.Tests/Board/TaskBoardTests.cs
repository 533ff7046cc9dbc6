using System.Net;
using System.Net.Sockets;
using LlmTasks.Board;
using LlmTasks.Storage;
using LlmTasks.Tests.Doubles;
using LlmTasks.Verification;

namespace LlmTasks.Tests.Board;

/// <summary>The task board over real sockets: who may see it, what its pages show, what its actions change, and its live stream.</summary>
public sealed class TaskBoardTests : IDisposable
{
    private readonly TempStore _temp = new(StoreKind.Sqlite);
    private readonly List<TaskBoard> _boards = [];

    public void Dispose()
    {
        foreach (var board in _boards)
        {
            board.Stop();
        }

        _temp.Dispose();
    }

    private TaskBoard Start(LlmTasks.Execution.TaskManager manager, BoardOptions? options = null)
    {
        var board = TaskBoards.Start(manager, options ?? new BoardOptions());
        _boards.Add(board);
        return board;
    }

    [Fact]
    public async Task Nothing_is_shown_without_the_token_and_the_link_swaps_it_for_a_strict_cookie()
    {
        using var manager = Managers.Open(_temp.Path);
        var board = Start(manager);
        using var client = new BoardClient(board);

        using (var bare = await client.Get("/"))
        {
            Assert.Equal(HttpStatusCode.Forbidden, bare.StatusCode);
            Assert.Contains("Get-LlmTaskBoard", await bare.Content.ReadAsStringAsync());
        }

        using (var wrong = await client.Get("/?token=not-the-token"))
        {
            Assert.Equal(HttpStatusCode.Forbidden, wrong.StatusCode);
        }

        using (var forged = await client.Get("/tasks", r => r.Headers.Add("Cookie", $"llmtasks-board-{board.Port}=forged")))
        {
            Assert.Equal(HttpStatusCode.Forbidden, forged.StatusCode);
        }

        using var signIn = await client.SignIn();
        Assert.Equal(HttpStatusCode.SeeOther, signIn.StatusCode);
        Assert.Equal("/", signIn.Headers.Location!.OriginalString);
        var cookie = Assert.Single(signIn.Headers.GetValues("Set-Cookie"));
        Assert.Contains("HttpOnly", cookie);
        Assert.Contains("SameSite=Strict", cookie);
        Assert.DoesNotContain("token", signIn.Headers.Location.OriginalString);

        var html = await client.Html("/");
        Assert.Contains("Tasks by state", html);
        Assert.Contains("Content-Security-Policy", string.Join(",", (await client.Get("/")).Headers.Select(h => h.Key)));
    }

    [Fact]
    public async Task A_request_naming_another_host_is_refused_even_with_the_cookie()
    {
        using var manager = Managers.Open(_temp.Path);
        var board = Start(manager);
        using var client = new BoardClient(board);
        (await client.SignIn()).Dispose();

        // As a DNS-rebinding page would send it: the board's address, another site's name.
        using var rebound = await client.Get("/tasks", r => r.Headers.Host = $"attacker.example:{board.Port}");
        // HttpListener itself matches the name against the board's one prefix and answers 404; the board checks again (421) behind it.
        Assert.True(rebound.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.MisdirectedRequest, $"got {rebound.StatusCode}");
        Assert.DoesNotContain("<table", await rebound.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task The_list_filters_sorts_and_pages_in_the_store()
    {
        using var manager = Managers.Open(_temp.Path);
        var ids = new List<long>();
        for (var i = 0; i < 12; i++)
        {
            ids.Add(manager.Start(Managers.Request($"question {i}", name: i % 3 == 0 ? $"nightly-{i}" : $"adhoc-{i}") with
            {
                MockResponse = i == 7 ? "the needle is here" : $"answer {i}",
            }).Id);
        }

        Managers.WaitAll(manager, ids);
        var board = Start(manager, new BoardOptions { PageSize = 5 });
        using var client = new BoardClient(board);
        (await client.SignIn()).Dispose();

        var first = await client.Html("/tasks");
        Assert.Contains("1–5 of 12 tasks", first);
        Assert.Contains($"data-id=\"{ids[^1]}\"", first); // newest first by default
        Assert.Contains("Next ›", first);

        var third = await client.Html("/tasks?page=3");
        Assert.Contains("11–12 of 12 tasks", third);
        Assert.Contains($"data-id=\"{ids[0]}\"", third);

        var nightly = await client.Html("/tasks?name=nightly-*&sort=Name&dir=asc");
        Assert.Contains("1–4 of 4 tasks", nightly);
        Assert.DoesNotContain("adhoc-", nightly.Split("<div id=\"live\">")[1]);

        var needle = await client.Html("/tasks?text=NEEDLE");
        Assert.Contains("1–1 of 1 tasks", needle);
        Assert.Contains($"data-id=\"{ids[7]}\"", needle);

        var bad = await client.Html("/tasks?state=Sleeping&after=yesterday");
        Assert.Contains("&#39;Sleeping&#39; is not a task state", bad);
        Assert.Contains("is not a date and time for &#39;after&#39;", bad);
    }

    [Fact]
    public async Task A_task_page_shows_the_conversation_every_attempt_and_each_check_with_its_reason()
    {
        using var manager = Managers.Open(_temp.Path);
        var task = manager.Start(Managers.Request("Say <b>hello</b>", name: "greeting") with
        {
            MockResponse = "goodbye",
            Verification = new VerificationPlan { Checks = [new CheckSpec { Type = "Regex", Name = "says hello", Pattern = "hello" }] },
        });
        var done = Assert.Single(Managers.WaitAll(manager, [task.Id]));
        Assert.Equal(LlmTaskState.NeedsReview, done.State);

        var board = Start(manager);
        using var client = new BoardClient(board);
        (await client.SignIn()).Dispose();
        var html = await client.Html($"/tasks/{task.Id}");

        Assert.Contains("Say &lt;b&gt;hello&lt;/b&gt;", html); // the prompt, escaped
        Assert.DoesNotContain("<b>hello</b>", html);
        Assert.Contains("goodbye", html);
        Assert.Contains("<table class=\"attempts\">", html);
        Assert.Contains("mock/echo", html);
        Assert.Contains("says hello", html);
        Assert.Contains("failed", html);
        var check = Assert.Single(manager.Store.GetChecks([task.Id])[task.Id]);
        Assert.Contains(WebUtility.HtmlEncode(check.Reason!), html);
        Assert.DoesNotContain("data-action", html); // read-only: no buttons

        using var missing = await client.Get("/tasks/999999");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
    }

    [Fact]
    public async Task Actions_are_refused_on_a_read_only_board_and_from_other_pages()
    {
        using var manager = Managers.Open(_temp.Path);
        var task = manager.Start(Managers.Request("q") with { MockResponse = "a" });
        Managers.WaitAll(manager, [task.Id]);

        var readOnly = Start(manager);
        using (var client = new BoardClient(readOnly))
        {
            (await client.SignIn()).Dispose();
            using var refused = await client.Action($"/tasks/{task.Id}/remove");
            Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
            Assert.Contains("-AllowActions", await refused.Content.ReadAsStringAsync());
        }

        var open = Start(manager, new BoardOptions { AllowActions = true });
        using var actions = new BoardClient(open);
        (await actions.SignIn()).Dispose();
        Assert.Contains("data-action=\"/tasks/" + task.Id + "/remove\"", await actions.Html($"/tasks/{task.Id}"));

        using (var noHeader = await actions.Post($"/tasks/{task.Id}/remove", r => r.Headers.Add("Origin", $"http://127.0.0.1:{open.Port}")))
        {
            Assert.Equal(HttpStatusCode.Forbidden, noHeader.StatusCode);
        }

        using (var crossSite = await actions.Post($"/tasks/{task.Id}/remove", r =>
               {
                   r.Headers.Add("X-LlmTasks-Board", "1");
                   r.Headers.Add("Origin", "http://attacker.example");
               }))
        {
            Assert.Equal(HttpStatusCode.Forbidden, crossSite.StatusCode);
        }

        Assert.NotNull(manager.Store.Get(task.Id));

        using var removed = await actions.Action($"/tasks/{task.Id}/remove");
        Assert.Equal(HttpStatusCode.OK, removed.StatusCode);
        Assert.Null(manager.Store.Get(task.Id));
    }

    [Fact]
    public async Task Approve_and_restart_change_the_task_as_the_cmdlets_do()
    {
        using var manager = Managers.Open(_temp.Path);
        var plan = new VerificationPlan { Checks = [new CheckSpec { Type = "Contains", Text = ["never"] }] };
        var review = manager.Start(Managers.Request("q1") with { MockResponse = "a", Verification = plan });
        var again = manager.Start(Managers.Request("q2") with { MockResponse = "b", Verification = plan });
        Managers.WaitAll(manager, [review.Id, again.Id]);

        var board = Start(manager, new BoardOptions { AllowActions = true, ApprovedBy = "board-test" });
        using var client = new BoardClient(board);
        (await client.SignIn()).Dispose();

        using (var approved = await client.Action($"/tasks/{review.Id}/approve"))
        {
            Assert.Equal(HttpStatusCode.OK, approved.StatusCode);
        }

        Assert.Equal(LlmTaskState.Completed, manager.Store.Get(review.Id)!.State);
        Assert.Contains(manager.Store.GetChecks([review.Id])[review.Id], c => c.Type == "Approval" && (c.Reason ?? "").Contains("board-test", StringComparison.Ordinal) || c.Details?.Contains("board-test", StringComparison.Ordinal) == true);

        using (var twice = await client.Action($"/tasks/{review.Id}/approve"))
        {
            Assert.Equal(HttpStatusCode.Conflict, twice.StatusCode);
        }

        using (var restarted = await client.Action($"/tasks/{again.Id}/restart"))
        {
            Assert.Equal(HttpStatusCode.OK, restarted.StatusCode);
        }

        var rerun = Assert.Single(Managers.WaitAll(manager, [again.Id]));
        Assert.Equal(2, rerun.Attempts);
    }

    [Fact]
    public async Task The_event_stream_says_when_a_task_finishes()
    {
        using var manager = Managers.Open(_temp.Path);
        var board = Start(manager, new BoardOptions { RefreshInterval = TimeSpan.FromMilliseconds(100) });
        using var client = new BoardClient(board);
        (await client.SignIn()).Dispose();

        using var events = await client.Get("/events");
        Assert.Equal("text/event-stream", events.Content.Headers.ContentType!.MediaType);
        using var reader = new StreamReader(await events.Content.ReadAsStreamAsync());
        var first = await NextData(reader);

        var task = manager.Start(Managers.Request("q") with { MockResponse = "a" });
        Managers.WaitAll(manager, [task.Id]);
        string next;
        do
        {
            next = await NextData(reader);
        }
        while (!next.EndsWith(":" + task.Id, StringComparison.Ordinal) || !next.StartsWith("0,0,1", StringComparison.Ordinal));

        Assert.NotEqual(first, next);
    }

    [Fact]
    public void A_port_in_use_and_a_port_out_of_range_are_clear_errors()
    {
        using var manager = Managers.Open(_temp.Path);
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var port = ((IPEndPoint)taken.LocalEndpoint).Port;

        var inUse = Assert.Throws<LlmTasksException>(() => Start(manager, new BoardOptions { Port = port }));
        Assert.Equal(ErrorIds.BoardPortUnavailable, inUse.ErrorId);
        Assert.Contains($"Port {port}", inUse.Message);

        var outOfRange = Assert.Throws<LlmTasksException>(() => Start(manager, new BoardOptions { Port = 70000 }));
        Assert.Equal(ErrorIds.InvalidBoardOption, outOfRange.ErrorId);
        Assert.DoesNotContain(TaskBoards.All, b => b.Port == port);
    }

    private static async Task<string> NextData(StreamReader reader)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (true)
        {
            var line = await reader.ReadLineAsync(timeout.Token) ?? throw new EndOfStreamException("The event stream ended.");
            if (line.StartsWith("data: ", StringComparison.Ordinal))
            {
                return line["data: ".Length..];
            }
        }
    }
}

using LlmTasks.Execution;
using LlmTasks.Storage;
using LlmTasks.Tests.Http;

namespace LlmTasks.Tests.Providers;

/// <summary>
/// One attempt row per call made, with the outcome it had: counted as requests at a loopback server against
/// the rows, and against the task's Attempts. A timeout or a shutdown during a call is that call's one row
/// (no extra "retry" row for the cancellation); a Stop in the wait between tries adds no row for a call never made.
/// </summary>
public sealed class AttemptAccountingTests
{
    private static string Base(HttpHarness h) => h.Server.Url + "/v1";

    private static void AssertRowsMatchRequests(HttpHarness h, LlmTask task, params LlmAttemptOutcome[] outcomes)
    {
        var rows = h.Manager.Store.GetAttempts(task.Id);
        Assert.Equal(outcomes, rows.Select(r => r.Outcome));
        Assert.Equal(h.Server.Requests.Count, rows.Count);
        Assert.Equal(rows.Count, h.Manager.Store.Get(task.Id)!.Attempts);
    }

    [Fact]
    public void Success_after_retries_is_one_row_per_request()
    {
        using var h = new HttpHarness();
        h.Server.Script(
            Reply.Json(500, RecordedResponses.OpenAIError("boom", "server_error")),
            Reply.Json(503, RecordedResponses.OpenAIError("busy", "server_error")),
            Reply.Json(200, RecordedResponses.OpenAIChat("6.")));
        var done = h.Run(HttpHarness.Conversation("openai/gpt-4o-mini"), Base(h));
        Assert.Equal(LlmTaskState.Completed, done.State);
        Assert.Equal(3, h.Server.Requests.Count);
        AssertRowsMatchRequests(h, done, LlmAttemptOutcome.Failed, LlmAttemptOutcome.Failed, LlmAttemptOutcome.Succeeded);
    }

    [Fact]
    public void A_TimeoutSec_expiry_during_a_call_is_that_calls_one_Timeout_row()
    {
        using var h = new HttpHarness();
        h.Server.Script(Reply.Hang());
        var done = h.Run(HttpHarness.Conversation("openai/gpt-4o-mini") with { TimeoutSec = 0.5 }, Base(h));
        Assert.Equal((LlmTaskState.Failed, "Timeout"), (done.State, done.ErrorKind));
        Assert.Single(h.Server.Requests);
        AssertRowsMatchRequests(h, done, LlmAttemptOutcome.Failed);
        Assert.Equal("Timeout", h.Manager.Store.GetAttempts(done.Id).Single().ErrorKind);
    }

    [Fact]
    public void A_shutdown_during_a_call_is_that_calls_one_Interrupted_row()
    {
        using var h = new HttpHarness();
        h.Server.Script(Reply.Hang());
        var task = h.Manager.Start(HttpHarness.Conversation("openai/gpt-4o-mini") with { ApiBase = Base(h) }, new TaskSecrets(HttpHarness.Key));
        Assert.True(SpinWait.SpinUntil(() => h.Server.Requests.Count == 1, TimeSpan.FromSeconds(30)), "the call never reached the server");
        h.Manager.Dispose(); // the process exits while the call waits for its answer

        using var store = TaskStore.Open(h.StorePath);
        var rows = store.GetAttempts(task.Id);
        Assert.Equal([LlmAttemptOutcome.Interrupted], rows.Select(r => r.Outcome));
        Assert.Single(h.Server.Requests);
        var left = store.Get(task.Id)!;
        Assert.Equal((LlmTaskState.Pending, 1), (left.State, left.Attempts)); // handed back for the next process
    }

    [Fact]
    public void A_Stop_in_the_wait_between_tries_adds_no_row_for_a_call_never_made()
    {
        // A long wait before the second try, so that the Stop surely lands in it.
        using var h = new HttpHarness(new RetryOptions { MaxRetries = 3, BaseDelay = TimeSpan.FromSeconds(60), MaxDelay = TimeSpan.FromSeconds(60), AttemptTimeout = TimeSpan.FromSeconds(30) });
        h.Server.Script(Reply.Json(500, RecordedResponses.OpenAIError("boom", "server_error"), ("retry-after-ms", "60000")));
        var task = h.Manager.Start(HttpHarness.Conversation("openai/gpt-4o-mini") with { ApiBase = Base(h) }, new TaskSecrets(HttpHarness.Key));
        Assert.True(SpinWait.SpinUntil(() => h.Manager.Store.GetAttempts(task.Id).Count == 1, TimeSpan.FromSeconds(30)), "the first try's row never came");

        h.Manager.Stop([task.Id]);
        var done = LlmTasks.Tests.Doubles.Managers.WaitAll(h.Manager, [task.Id]).Single();

        Assert.Equal((LlmTaskState.Cancelled, "Cancelled"), (done.State, done.ErrorKind));
        Assert.Single(h.Server.Requests);
        AssertRowsMatchRequests(h, done, LlmAttemptOutcome.Failed);
        Assert.Equal("ServerError", h.Manager.Store.GetAttempts(done.Id).Single().ErrorKind);
    }

    [Fact]
    public void A_TimeoutSec_expiry_in_the_wait_between_tries_adds_no_row_either()
    {
        using var h = new HttpHarness(new RetryOptions { MaxRetries = 3, BaseDelay = TimeSpan.FromSeconds(60), MaxDelay = TimeSpan.FromSeconds(60), AttemptTimeout = TimeSpan.FromSeconds(30) });
        h.Server.Script(Reply.Json(500, RecordedResponses.OpenAIError("boom", "server_error"), ("retry-after-ms", "60000")));
        var done = h.Run(HttpHarness.Conversation("openai/gpt-4o-mini") with { TimeoutSec = 1 }, Base(h));
        Assert.Equal((LlmTaskState.Failed, "Timeout"), (done.State, done.ErrorKind));
        Assert.Single(h.Server.Requests);
        AssertRowsMatchRequests(h, done, LlmAttemptOutcome.Failed);
        Assert.Equal("ServerError", h.Manager.Store.GetAttempts(done.Id).Single().ErrorKind);
    }
}

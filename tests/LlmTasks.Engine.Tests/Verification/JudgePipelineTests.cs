using System.Text.Json;
using LlmTasks.Execution;
using LlmTasks.Providers.Http;
using LlmTasks.Providers.OpenAICompatible;
using LlmTasks.Tests.Doubles;
using LlmTasks.Tests.Http;
using LlmTasks.Verification;

namespace LlmTasks.Tests.Verification;

/// <summary>
/// A judge's call goes through the same pipeline as the task's (counted at a loopback OpenAI-style endpoint that plays
/// the judge's model): a 429 is retried, every try is an attempt row of the task with its tokens and cost, and a judge
/// that still cannot be called is an infrastructure failure of the check (JudgeUnavailable): the task fails keeping its
/// answer, it is never re-asked and never sent to review.
/// </summary>
public sealed class JudgePipelineTests : IDisposable
{
    private const string Key = "sk-judge-0123456789abcdef";
    private const string Verdict = """{"passed":true,"reasoning":"2+2 is 4."}""";
    private readonly TempStore _temp = new();
    private readonly LoopbackServer _judge = new();

    public void Dispose()
    {
        _judge.Dispose();
        _temp.Dispose();
    }

    private TaskManager Open(RecordingProvider answers, int maxRetries = 3)
    {
        var environment = new ProviderEnvironment(name => name switch
        {
            "OPENAI_BASE_URL" => _judge.Url + "/v1",
            "OPENAI_API_KEY" => Key,
            _ => null,
        });
        var retry = new RetryOptions { MaxRetries = maxRetries, BaseDelay = TimeSpan.FromMilliseconds(10), MaxDelay = TimeSpan.FromMilliseconds(100), AttemptTimeout = TimeSpan.FromSeconds(30) };
        return Managers.Open(_temp.Path, new TaskManagerOptions { Retry = retry }, answers, new OpenAICompatibleProvider(OpenAICompatibleEndpoint.OpenAI, environment));
    }

    private static LlmTaskRequest Judged(int maxAttempts = 1) => new()
    {
        Model = "rec/model",
        Messages = [new LlmMessage(LlmRole.User, "What is 2+2?")],
        Verification = new VerificationPlan
        {
            Checks = [new CheckSpec { Type = "Judge", Model = "openai/gpt-4o-mini", Criteria = "The sum is right." }],
            MaxAttempts = maxAttempts,
        },
    };

    [Fact]
    public void A_judge_that_gets_a_429_is_retried_and_each_try_is_an_attempt_row_with_its_tokens_and_cost()
    {
        _judge.Script(
            Reply.Json(429, RecordedResponses.OpenAIError("Rate limit reached.", "requests", "rate_limit_exceeded"), ("retry-after-ms", "10")),
            Reply.Json(200, RecordedResponses.OpenAIChat(Verdict, input: 120, output: 15)));
        var answers = new RecordingProvider("4");
        using var manager = Open(answers);
        var done = Managers.WaitAll(manager, [manager.Start(Judged()).Id]).Single();

        Assert.True(done.State == LlmTaskState.Completed, done.Error);
        Assert.Single(answers.Calls); // the model was asked once
        Assert.Equal(2, _judge.Requests.Count);
        var rows = manager.Store.GetAttempts(done.Id);
        Assert.Equal(3, rows.Count); // the judge's two tries, then the answer that passed
        Assert.Equal(rows.Count, done.Attempts);
        var judged = rows.Where(r => r.DetailsJson?.Contains("\"judge\":true", StringComparison.Ordinal) == true).ToList();
        Assert.Equal([LlmAttemptOutcome.Failed, LlmAttemptOutcome.Succeeded], judged.Select(r => r.Outcome));
        Assert.Equal("RateLimited", judged[0].ErrorKind);
        Assert.Equal((120L, 15L), (judged[1].InputTokens, judged[1].OutputTokens));
        Assert.Equal((120 * 0.15m + 15 * 0.60m) / 1_000_000m, judged[1].CostUsd); // priced like any call
        Assert.Equal(done.CostUsd, judged[1].CostUsd); // the task's cost counts its judge (the rec model has no price)
        Assert.Equal("Bearer " + Key, _judge.Requests[1].Header("Authorization"));
        Assert.Equal("json_schema", _judge.Requests[1].Json.GetProperty("response_format").GetProperty("type").GetString());
    }

    [Fact]
    public void Judge_calls_count_toward_the_tasks_MaxCostUsd_and_the_re_ask_that_would_pass_it_is_not_made()
    {
        const string Wrong = """{"passed":false,"reasoning":"Not the sum."}""";
        _judge.Script( // each verdict costs $0.15 (a million input tokens of gpt-4o-mini); the rec model's answers are free
            Reply.Json(200, RecordedResponses.OpenAIChat(Wrong, input: 1_000_000, output: 0)),
            Reply.Json(200, RecordedResponses.OpenAIChat(Wrong, input: 1_000_000, output: 0)),
            Reply.Json(200, RecordedResponses.OpenAIChat(Wrong, input: 1_000_000, output: 0)));
        var answers = new RecordingProvider("5");
        using var manager = Open(answers);
        var done = Managers.WaitAll(manager, [manager.Start(Judged(maxAttempts: 5) with { MaxCostUsd = 0.20m }).Id]).Single();

        // Answer 1, verdict ($0.15), answer 2, verdict ($0.30: it started under the cap), then the third answer would start past it.
        Assert.Equal(LlmTaskState.Failed, done.State);
        Assert.Equal("CostLimit", done.ErrorKind);
        Assert.Equal(2, answers.Calls.Count);
        Assert.Equal(2, _judge.Requests.Count);
        Assert.Equal(0.30m, done.CostUsd);
        Assert.Contains("-MaxCostUsd 0.2", done.Error);
        Assert.Equal(4, manager.Store.GetAttempts(done.Id).Count); // two answers and two verdicts: no row for the call not made
    }

    [Fact]
    public void A_judge_that_would_pass_the_MaxCostUsd_is_not_called_and_the_task_fails_as_CostLimit_keeping_the_answer()
    {
        var answers = new RecordingProvider("4");
        using var manager = Open(answers);
        // The judge's prompt alone, at gpt-4o-mini's price, is more than this cap.
        var done = Managers.WaitAll(manager, [manager.Start(Judged() with { MaxCostUsd = 0.0000001m }).Id]).Single();

        Assert.Equal(LlmTaskState.Failed, done.State);
        Assert.Equal("CostLimit", done.ErrorKind);
        Assert.Equal("4", done.Output);
        Assert.Empty(_judge.Requests);
        Assert.Single(answers.Calls);
    }

    [Fact]
    public void A_judge_that_cannot_be_called_fails_the_task_as_JudgeUnavailable_keeping_the_answer_and_never_re_asks()
    {
        _judge.Script(Reply.Json(503, RecordedResponses.OpenAIError("The server is overloaded.", "server_error")));
        var answers = new RecordingProvider("4");
        using var manager = Open(answers, maxRetries: 2);
        var done = Managers.WaitAll(manager, [manager.Start(Judged(maxAttempts: 3)).Id]).Single();

        Assert.Equal((LlmTaskState.Failed, "JudgeUnavailable"), (done.State, done.ErrorKind));
        Assert.Equal("4", done.Output); // the answer is kept: nothing says it was wrong
        Assert.Contains("could not run", done.Error);
        Assert.Contains("HTTP 503", done.Error);
        Assert.Single(answers.Calls); // never re-asked, although -MaxAttempts 3 would allow it
        Assert.Equal(3, _judge.Requests.Count); // the judge's call was tried 1 + 2 times
        var rows = manager.Store.GetAttempts(done.Id);
        Assert.Equal(4, rows.Count);
        Assert.Equal(3, rows.Count(r => r.ErrorKind == "ServerError" && r.DetailsJson!.Contains("\"judge\":true", StringComparison.Ordinal)));
        var check = Assert.Single(manager.Store.GetChecks([done.Id])[done.Id]);
        Assert.Equal(("Judge", false, true, "JudgeUnavailable"), (check.Type, check.Passed, check.Unavailable, check.ErrorKind));
    }

    [Fact]
    public async Task A_judge_that_cannot_be_called_when_verifying_a_stored_task_is_no_verdict_on_its_answer()
    {
        _judge.Script(Reply.Reset());
        var answers = new RecordingProvider("4");
        using var manager = Open(answers, maxRetries: 1);
        var task = Managers.WaitAll(manager, [manager.Start(Judged() with { Verification = null }).Id]).Single();

        var verifier = new Verifier([new CheckSpec { Type = "Judge", Model = "openai/gpt-4o-mini", Criteria = "The sum is right." }], manager.Providers);
        var result = await verifier.VerifyAsync(task.Output, task, failFast: false, CancellationToken.None, manager.Store, manager.Options.Retry);

        var check = Assert.Single(result.Checks);
        Assert.False(check.Passed);
        Assert.Equal(("JudgeUnavailable", true), (check.ErrorKind, check.Unavailable));
        Assert.Equal(2, _judge.Requests.Count);
        Assert.Equal(2, manager.Store.GetAttempts(task.Id).Count(r => r.ErrorKind == "ConnectionFailed")); // both tries on record
    }
}

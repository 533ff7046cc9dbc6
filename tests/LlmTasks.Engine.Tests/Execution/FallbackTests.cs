using System.Text.Json;
using LlmTasks.Execution;
using LlmTasks.Tests.Http;

namespace LlmTasks.Tests.Execution;

/// <summary>-Fallback: the models a call moves on to after its retries, each try an attempt row naming its model.</summary>
public sealed class FallbackTests : IDisposable
{
    private readonly HttpHarness _h = new(new RetryOptions { MaxRetries = 1, BaseDelay = TimeSpan.FromMilliseconds(10), MaxDelay = TimeSpan.FromMilliseconds(50), AttemptTimeout = TimeSpan.FromSeconds(30) },
        new Dictionary<string, string>());

    public void Dispose() => _h.Dispose();

    private string Base => _h.Server.Url + "/v1";

    private static LlmTaskRequest Request(string[]? fallbacks, string[]? on = null, string prompt = "Hi") => new()
    {
        Model = "openai/gpt-4o-mini",
        Messages = [new LlmMessage(LlmRole.User, prompt)],
        Fallbacks = fallbacks,
        FallbackOn = on,
    };

    /// <summary>Answers by the model asked for: gpt-4o-mini with <paramref name="first"/>, every other model with an answer naming it.</summary>
    private void Serve(Func<Reply> first) => _h.Server.Script(Reply.From(request =>
    {
        var model = request.Json.GetProperty("model").GetString()!;
        return model == "gpt-4o-mini" ? first() : Reply.Json(200, RecordedResponses.OpenAIChat($"from {model}", 1_000_000, 1_000_000));
    }));

    private static Reply Limited() => Reply.Json(429, RecordedResponses.OpenAIError("Rate limit reached for gpt-4o-mini.", "requests", "rate_limit_exceeded"), ("retry-after-ms", "5"));

    [Fact]
    public void A_model_still_rate_limited_after_its_retries_falls_back_and_each_try_is_a_row_naming_its_model()
    {
        Serve(Limited);
        var done = _h.Run(Request(["openai/gpt-4.1-mini", "openai/gpt-4o"]), Base);

        Assert.Equal(LlmTaskState.Completed, done.State);
        Assert.Equal("from gpt-4.1-mini", done.Output);
        Assert.Equal("openai/gpt-4o-mini", done.Model); // the task keeps the model it asked for
        var attempts = _h.Attempts(done);
        Assert.Equal(["openai/gpt-4o-mini", "openai/gpt-4o-mini", "openai/gpt-4.1-mini"], attempts.Select(a => a.Model));
        Assert.Equal([LlmAttemptOutcome.Failed, LlmAttemptOutcome.Failed, LlmAttemptOutcome.Succeeded], attempts.Select(a => a.Outcome));
        Assert.All(attempts.Take(2), a => Assert.Equal("RateLimited", a.ErrorKind));
        using var details = JsonDocument.Parse(attempts[2].DetailsJson!);
        Assert.Equal(1, details.RootElement.GetProperty("fallback").GetInt32());
        Assert.Equal("openai/gpt-4.1-mini", details.RootElement.GetProperty("model").GetString());
        Assert.Equal(0.4m + 1.6m, attempts[2].CostUsd); // priced as the model that answered
        Assert.Equal(["gpt-4o-mini", "gpt-4o-mini", "gpt-4.1-mini"], _h.Server.Requests.Select(r => r.Json.GetProperty("model").GetString()));
    }

    [Fact]
    public void Every_fallback_is_tried_in_order_and_the_last_failure_fails_the_task()
    {
        _h.Server.Script(Reply.From(_ => Reply.Json(503, RecordedResponses.OpenAIError("The server is overloaded.", "server_error"))));
        var done = _h.Run(Request(["openai/gpt-4.1-mini", "openai/gpt-4o"]), Base);
        Assert.Equal(LlmTaskState.Failed, done.State);
        Assert.Equal("ServerError", done.ErrorKind);
        Assert.Equal(["openai/gpt-4o-mini", "openai/gpt-4o-mini", "openai/gpt-4.1-mini", "openai/gpt-4.1-mini", "openai/gpt-4o", "openai/gpt-4o"],
            _h.Attempts(done).Select(a => a.Model));
    }

    [Fact]
    public void A_failure_of_a_kind_not_named_fails_at_once_and_FallbackOn_names_the_kinds()
    {
        Serve(() => Reply.Json(401, RecordedResponses.OpenAIError("Incorrect API key provided.", "invalid_request_error", "invalid_api_key")));
        var failed = _h.Run(Request(["openai/gpt-4.1-mini"]), Base);
        Assert.Equal(LlmTaskState.Failed, failed.State);
        Assert.Equal("AuthenticationFailed", failed.ErrorKind);
        Assert.Equal(["openai/gpt-4o-mini"], _h.Attempts(failed).Select(a => a.Model));

        var moved = _h.Run(Request(["openai/gpt-4.1-mini"], ["AuthenticationFailed"]), Base);
        Assert.Equal(LlmTaskState.Completed, moved.State);
        Assert.Equal("from gpt-4.1-mini", moved.Output);

        // Only the named kinds: a 429 no longer moves on when -FallbackOn says otherwise.
        Serve(Limited);
        Assert.Equal(LlmTaskState.Failed, _h.Run(Request(["openai/gpt-4.1-mini"], ["ServerError"]), Base).State);
    }

    [Fact]
    public void A_prompt_too_long_for_the_model_is_ContextTooLong_and_falls_back_to_a_larger_one()
    {
        Serve(() => Reply.Json(400, RecordedResponses.OpenAIError("This model's maximum context length is 128000 tokens. However, your messages resulted in 130000 tokens.", "invalid_request_error", "context_length_exceeded")));
        var done = _h.Run(Request(["openai/gpt-4.1"]), Base);
        Assert.Equal(LlmTaskState.Completed, done.State);
        var first = _h.Attempts(done)[0];
        Assert.Equal("ContextTooLong", first.ErrorKind);
        Assert.Equal(2, _h.Server.Requests.Count); // not retried: the same prompt does not fit the second time either
    }

    [Fact]
    public void The_context_window_check_lets_through_a_prompt_that_a_fallback_can_take()
    {
        var huge = string.Concat(Enumerable.Repeat("word ", 130_000));
        Assert.Equal(ErrorIds.ContextWindowExceeded, Assert.Throws<LlmTasksException>(() => _h.Manager.Start(Request(null, prompt: huge))).ErrorId);
        Assert.Equal(ErrorIds.ContextWindowExceeded, Assert.Throws<LlmTasksException>(() => _h.Manager.Start(Request(["openai/gpt-4o"], prompt: huge))).ErrorId); // 128k too
        Assert.Equal(ErrorIds.ContextWindowExceeded, Assert.Throws<LlmTasksException>(() => _h.Manager.Start(Request(["openai/gpt-4.1"], ["RateLimited"], huge))).ErrorId); // not on ContextTooLong
        var task = _h.Manager.Start(Request(["openai/gpt-4.1"], prompt: huge) with { ApiBase = Base }, new TaskSecrets(HttpHarness.Key));
        _h.Manager.Stop([task.Id]);
    }

    [Fact]
    public void Fallbacks_are_stored_whole_and_bad_ones_are_refused_before_anything_is_stored()
    {
        using var h = new HttpHarness();
        var stored = h.Manager.Start(Request([" openai/gpt-4o "]) with { ApiBase = "http://127.0.0.1:9/v1" }, new TaskSecrets(HttpHarness.Key));
        h.Manager.Stop([stored.Id]);
        Assert.Equal(["openai/gpt-4o"], h.Manager.Store.Get(stored.Id)!.Request.Fallbacks);
        Assert.Equal(ErrorIds.InvalidFallback, Assert.Throws<LlmTasksException>(() => h.Manager.Start(Request(["openai/gpt-4o"], ["Sometimes"]))).ErrorId);
        Assert.Equal(ErrorIds.UnknownProvider, Assert.Throws<LlmTasksException>(() => h.Manager.Start(Request(["nowhere/model"]))).ErrorId);
        Assert.Equal(ErrorIds.InvalidFallback, Assert.Throws<LlmTasksException>(() => h.Manager.Start(Request([.. Enumerable.Repeat("openai/gpt-4o", 11)]))).ErrorId);
        Assert.Single(h.Manager.Store.Query(new LlmTasks.Storage.TaskQuery()));
    }

    [Fact]
    public void A_fallback_to_another_provider_uses_that_providers_own_base_url_not_the_tasks_ApiBase()
    {
        using var anthropic = new LoopbackServer();
        anthropic.Script(Reply.Json(200, RecordedResponses.AnthropicMessage("from claude")));
        _h.Environment["ANTHROPIC_API_KEY"] = "sk-ant-test-0123456789";
        _h.Environment["ANTHROPIC_BASE_URL"] = anthropic.Url;
        Serve(Limited);
        var done = _h.Run(Request(["anthropic/claude-haiku-4-5"]), Base);
        Assert.Equal(LlmTaskState.Completed, done.State);
        Assert.Equal("from claude", done.Output);
        Assert.Equal("/v1/messages", Assert.Single(anthropic.Requests).Target);
        Assert.Equal("anthropic/claude-haiku-4-5", _h.Attempts(done)[^1].Model);
    }
}

using System.Text.Json;
using LlmTasks.Execution;
using LlmTasks.Tests.Http;

namespace LlmTasks.Tests.Providers;

public sealed class OpenAIProviderTests : IDisposable
{
    private readonly HttpHarness _h = new();

    public void Dispose() => _h.Dispose();

    private string Base => _h.Server.Url + "/v1";

    [Fact]
    public void Sends_every_turn_and_option_and_completes_with_usage_and_cost()
    {
        _h.Server.Script(Reply.Json(200, RecordedResponses.OpenAIChat("6.")));
        var done = _h.Run(HttpHarness.Conversation("openai/gpt-4o-mini"), Base);

        Assert.Equal(LlmTaskState.Completed, done.State);
        Assert.Equal("6.", done.Output);
        Assert.Equal(31, done.InputTokens);
        Assert.Equal(2, done.OutputTokens);
        Assert.Equal((31 * 0.15m + 2 * 0.60m) / 1_000_000m, done.CostUsd);

        var request = Assert.Single(_h.Server.Requests);
        Assert.Equal("POST", request.Method);
        Assert.Equal("/v1/chat/completions", request.Target);
        Assert.Equal("Bearer " + HttpHarness.Key, request.Header("Authorization"));
        var body = request.Json;
        Assert.Equal("gpt-4o-mini", body.GetProperty("model").GetString());
        Assert.Equal(
            ["system:You are terse.", "user:Hi, what is 2+2?", "assistant:4.", "user:And 3+3?"],
            body.GetProperty("messages").EnumerateArray().Select(m => m.GetProperty("role").GetString() + ":" + m.GetProperty("content").GetString()));
        Assert.Equal(0.2, body.GetProperty("temperature").GetDouble(), 3);
        Assert.Equal(50, body.GetProperty("max_completion_tokens").GetInt32());
        Assert.Equal(["END"], body.GetProperty("stop").EnumerateArray().Select(s => s.GetString()));
        // Streamed (the answer arrives as server-sent events), with the usage asked for in the stream.
        Assert.True(body.GetProperty("stream").GetBoolean());
        Assert.True(body.GetProperty("stream_options").GetProperty("include_usage").GetBoolean());
    }

    [Fact]
    public void A_json_schema_is_sent_as_response_format_and_the_answer_is_stored_parsed()
    {
        _h.Server.Script(Reply.Json(200, RecordedResponses.OpenAIChat("""{"verdict":"yes","score":3}""")));
        var schema = """{"type":"object","properties":{"verdict":{"type":"string"},"score":{"type":"integer"}},"required":["verdict","score"]}""";
        var done = _h.Run(HttpHarness.Conversation("openai/gpt-4o-mini") with { JsonSchema = schema }, Base);

        Assert.Equal(LlmTaskState.Completed, done.State);
        var format = _h.Server.Requests.Single().Json.GetProperty("response_format");
        Assert.Equal("json_schema", format.GetProperty("type").GetString());
        var sent = format.GetProperty("json_schema").GetProperty("schema");
        Assert.Equal(["score", "verdict"], sent.GetProperty("required").EnumerateArray().Select(e => e.GetString()).Order());
        using var stored = JsonDocument.Parse(_h.Attempts(done).Single().StructuredOutput!);
        Assert.Equal("yes", stored.RootElement.GetProperty("verdict").GetString());
    }

    [Fact]
    public void ResponseFormat_Json_is_sent_as_json_object()
    {
        _h.Server.Script(Reply.Json(200, RecordedResponses.OpenAIChat("""{"a":1}""")));
        var done = _h.Run(HttpHarness.Conversation("openai/gpt-4o-mini") with { ResponseFormat = LlmResponseFormat.Json }, Base);
        Assert.Equal(LlmTaskState.Completed, done.State);
        Assert.Equal("json_object", _h.Server.Requests.Single().Json.GetProperty("response_format").GetProperty("type").GetString());
    }

    [Fact]
    public void A_429_with_Retry_After_is_retried_after_that_wait_and_both_tries_are_attempt_rows()
    {
        _h.Server.Script(
            Reply.Json(429, RecordedResponses.OpenAIError("Rate limit reached for gpt-4o-mini.", "requests", "rate_limit_exceeded"), ("Retry-After", "1")),
            Reply.Json(200, RecordedResponses.OpenAIChat("6.")));
        var done = _h.Run(HttpHarness.Conversation("openai/gpt-4o-mini"), Base);

        Assert.Equal(LlmTaskState.Completed, done.State);
        Assert.Equal("6.", done.Output);
        Assert.Equal(2, done.Attempts);
        Assert.Equal(2, _h.Server.Requests.Count);
        var attempts = _h.Attempts(done);
        Assert.Equal([LlmAttemptOutcome.Failed, LlmAttemptOutcome.Succeeded], attempts.Select(a => a.Outcome));
        Assert.Equal("RateLimited", attempts[0].ErrorKind);
        Assert.Contains("HTTP 429", attempts[0].Error);
        Assert.Contains("Rate limit reached for gpt-4o-mini.", attempts[0].Error);
        using var details = JsonDocument.Parse(attempts[0].DetailsJson!);
        Assert.Equal(1000, details.RootElement.GetProperty("retryDelayMs").GetInt64());
        Assert.Equal(429, details.RootElement.GetProperty("status").GetInt32());
    }

    [Fact]
    public void A_server_wait_longer_than_MaxDelay_is_capped()
    {
        _h.Server.Script(
            Reply.Json(429, RecordedResponses.OpenAIError("slow down", "requests"), ("retry-after-ms", "3600000")),
            Reply.Json(200, RecordedResponses.OpenAIChat("ok")));
        var done = _h.Run(HttpHarness.Conversation("openai/gpt-4o-mini"), Base);
        Assert.Equal(LlmTaskState.Completed, done.State);
        using var details = JsonDocument.Parse(_h.Attempts(done)[0].DetailsJson!);
        Assert.Equal((long)_h.Retry.MaxDelay.TotalMilliseconds, details.RootElement.GetProperty("retryDelayMs").GetInt64());
    }

    [Theory]
    [InlineData(500, "ServerError")]
    [InlineData(529, "Overloaded")]
    [InlineData(503, "ServerError")]
    public void A_transient_status_is_retried_then_completes(int status, string kind)
    {
        _h.Server.Script(Reply.Json(status, RecordedResponses.OpenAIError("The server had an error.", "server_error")), Reply.Json(200, RecordedResponses.OpenAIChat("6.")));
        var done = _h.Run(HttpHarness.Conversation("openai/gpt-4o-mini"), Base);
        Assert.Equal(LlmTaskState.Completed, done.State);
        var first = _h.Attempts(done)[0];
        Assert.Equal(kind, first.ErrorKind);
        Assert.Contains($"HTTP {status}", first.Error);
        Assert.Equal(2, done.Attempts);
    }

    [Fact]
    public void A_reset_connection_is_retried()
    {
        _h.Server.Script(Reply.Reset(), Reply.Json(200, RecordedResponses.OpenAIChat("6.")));
        var done = _h.Run(HttpHarness.Conversation("openai/gpt-4o-mini"), Base);
        Assert.Equal(LlmTaskState.Completed, done.State);
        Assert.Equal("ConnectionFailed", _h.Attempts(done)[0].ErrorKind);
    }

    [Fact]
    public void A_truncated_body_is_retried_and_named()
    {
        var full = RecordedResponses.OpenAIChat("6.");
        _h.Server.Script(Reply.Truncated(full[..40]), Reply.Json(200, full));
        var done = _h.Run(HttpHarness.Conversation("openai/gpt-4o-mini"), Base);
        Assert.Equal(LlmTaskState.Completed, done.State);
        var first = _h.Attempts(done)[0];
        Assert.Equal("TruncatedStream", first.ErrorKind);
        Assert.Contains("ended before it was complete", first.Error);
    }

    [Fact]
    public void Malformed_json_fails_at_once_as_InvalidResponse()
    {
        // A streamed answer whose event is not JSON (the call streams: the SDK reads each event as it comes).
        _h.Server.Script(Reply.Stream(["""data: {"id":"chatcmpl-1","choices":[{"index":0,"delta":{"role":"assist"""]));
        var done = _h.Run(HttpHarness.Conversation("openai/gpt-4o-mini"), Base);
        Assert.Equal(LlmTaskState.Failed, done.State);
        Assert.Equal("InvalidResponse", done.ErrorKind);
        Assert.Contains("not valid JSON", done.Error);
        Assert.Equal(1, done.Attempts);
    }

    [Fact]
    public void A_whole_body_answer_to_a_streaming_request_is_an_InvalidResponse_that_says_how_to_turn_streaming_off()
    {
        _h.Server.Script(Reply.Json(200, """{"id":"chatcmpl-1","choices":[{"index":0,"message":{"role":"assist"""));
        var done = _h.Run(HttpHarness.Conversation("openai/gpt-4o-mini"), Base);
        Assert.Equal(("Failed", "InvalidResponse"), (done.State.ToString(), done.ErrorKind));
        Assert.Contains("not text/event-stream", done.Error);
        Assert.Contains("$env:LLMTASKS_STREAMING = 0", done.Error);
        Assert.Equal(1, done.Attempts); // not retried: the same request gets the same answer
    }

    [Fact]
    public void A_401_fails_at_once_with_the_providers_message_and_one_attempt()
    {
        _h.Server.Script(Reply.Json(401, RecordedResponses.OpenAIError("Incorrect API key provided.", "invalid_request_error", "invalid_api_key")));
        var done = _h.Run(HttpHarness.Conversation("openai/gpt-4o-mini"), Base);
        Assert.Equal(LlmTaskState.Failed, done.State);
        Assert.Equal("AuthenticationFailed", done.ErrorKind);
        Assert.Contains("HTTP 401", done.Error);
        Assert.Contains("Incorrect API key provided.", done.Error);
        Assert.Equal(1, done.Attempts);
        Assert.Single(_h.Server.Requests);
    }

    [Fact]
    public void A_429_for_exhausted_quota_is_not_retried()
    {
        _h.Server.Script(Reply.Json(429, RecordedResponses.OpenAIError("You exceeded your current quota, please check your plan and billing details.", "insufficient_quota", "insufficient_quota")));
        var done = _h.Run(HttpHarness.Conversation("openai/gpt-4o-mini"), Base);
        Assert.Equal("QuotaExceeded", done.ErrorKind);
        Assert.Equal(1, done.Attempts);
    }

    [Fact]
    public void A_transient_failure_every_time_gives_up_after_the_retry_limit()
    {
        _h.Server.Script(Reply.Json(500, RecordedResponses.OpenAIError("boom", "server_error")));
        var done = _h.Run(HttpHarness.Conversation("openai/gpt-4o-mini"), Base);
        Assert.Equal(LlmTaskState.Failed, done.State);
        Assert.Equal("ServerError", done.ErrorKind);
        Assert.Equal(_h.Retry.MaxRetries + 1, done.Attempts);
        Assert.Equal(_h.Retry.MaxRetries + 1, _h.Server.Requests.Count);
        Assert.Contains($"gave up after {_h.Retry.MaxRetries + 1} tries", done.Error);
        Assert.All(_h.Attempts(done), a => Assert.Equal(LlmAttemptOutcome.Failed, a.Outcome));
    }

    [Fact]
    public void A_missing_key_fails_naming_the_variable_to_set()
    {
        var done = _h.Run(HttpHarness.Conversation("openai/gpt-4o-mini"), Base, key: null);
        Assert.Equal(LlmTaskState.Failed, done.State);
        Assert.Equal(ErrorIds.MissingApiKey, done.ErrorKind);
        Assert.Contains("$env:OPENAI_API_KEY", done.Error);
        Assert.Empty(_h.Server.Requests);
    }

    [Fact]
    public void A_task_started_with_its_own_key_for_its_own_base_url_never_gets_the_environments_key_when_resumed()
    {
        _h.Environment["OPENAI_API_KEY"] = "sk-environment-key-must-not-go-to-the-tasks-url";
        // What another process sees: the stored request says a key was given; the key itself was never stored.
        var done = _h.Run(HttpHarness.Conversation("openai/gpt-4o-mini") with { ApiKeyGiven = true }, Base, key: null);
        Assert.Equal((LlmTaskState.Failed, ErrorIds.MissingApiKey), (done.State, done.ErrorKind));
        Assert.Contains("Start the task again with -ApiKey", done.Error);
        Assert.Empty(_h.Server.Requests);
    }

    [Fact]
    public void The_environment_gives_the_base_url_and_key_when_the_task_does_not()
    {
        _h.Environment["OPENAI_BASE_URL"] = Base;
        _h.Environment["OPENAI_API_KEY"] = "sk-from-environment-000000";
        _h.Server.Script(Reply.Json(200, RecordedResponses.OpenAIChat("6.")));
        var done = _h.Run(HttpHarness.Conversation("openai/gpt-4o-mini"), key: null);
        Assert.Equal(LlmTaskState.Completed, done.State);
        Assert.Equal("Bearer sk-from-environment-000000", _h.Server.Requests.Single().Header("Authorization"));
    }

    [Theory]
    [InlineData("ollama", "OLLAMA_BASE_URL")]
    [InlineData("vllm", "VLLM_BASE_URL")]
    [InlineData("lmstudio", "LMSTUDIO_BASE_URL")]
    [InlineData("litellm", "LITELLM_BASE_URL")]
    [InlineData("openrouter", "OPENROUTER_BASE_URL")]
    public void OpenAI_compatible_servers_are_reached_at_their_base_url(string prefix, string variable)
    {
        _h.Environment[variable] = Base;
        _h.Server.Script(Reply.Json(200, RecordedResponses.OpenAIChat("6.")));
        var done = _h.Run(HttpHarness.Conversation($"{prefix}/some-model:7b"));
        Assert.Equal(LlmTaskState.Completed, done.State);
        Assert.Equal("some-model:7b", _h.Server.Requests.Single().Json.GetProperty("model").GetString());
        Assert.Null(done.CostUsd);
    }

    [Fact]
    public void Ollama_reads_OLLAMA_HOST_as_ollama_does()
    {
        _h.Environment["OLLAMA_HOST"] = $"127.0.0.1:{_h.Server.Port}";
        _h.Server.Script(Reply.Json(200, RecordedResponses.OpenAIChat("hi")));
        var done = _h.Run(HttpHarness.Conversation("ollama/llama3.2"), key: null);
        Assert.Equal(LlmTaskState.Completed, done.State);
        Assert.Equal("/v1/chat/completions", _h.Server.Requests.Single().Target);
    }

    [Fact]
    public void A_try_that_takes_too_long_times_out_and_is_retried()
    {
        using var h = new HttpHarness(new RetryOptions { MaxRetries = 1, BaseDelay = TimeSpan.FromMilliseconds(10), AttemptTimeout = TimeSpan.FromMilliseconds(400) });
        h.Server.Script(Reply.Hang());
        var done = h.Run(HttpHarness.Conversation("openai/gpt-4o-mini"), h.Server.Url + "/v1");
        Assert.Equal(LlmTaskState.Failed, done.State);
        Assert.Equal("Timeout", done.ErrorKind);
        Assert.Equal(2, done.Attempts);
        Assert.Contains("0.4 s", done.Error);
    }

    [Fact]
    public void An_invalid_ApiBase_fails_with_its_own_kind()
    {
        var done = _h.Run(HttpHarness.Conversation("openai/gpt-4o-mini"), "not a url");
        Assert.Equal(ErrorIds.InvalidApiBase, done.ErrorKind);
        Assert.Contains("-ApiBase", done.Error);
    }
}

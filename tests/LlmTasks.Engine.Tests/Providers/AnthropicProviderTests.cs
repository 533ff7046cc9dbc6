using System.Text.Json;
using LlmTasks.Tests.Http;

namespace LlmTasks.Tests.Providers;

public sealed class AnthropicProviderTests : IDisposable
{
    private readonly HttpHarness _h = new();

    public void Dispose() => _h.Dispose();

    [Fact]
    public void Sends_the_system_prompt_every_turn_temperature_max_tokens_and_stop_and_completes()
    {
        _h.Server.Script(Reply.Json(200, RecordedResponses.AnthropicMessage("6.")));
        var done = _h.Run(HttpHarness.Conversation("anthropic/claude-sonnet-4-5"), _h.Server.Url);

        Assert.Equal(LlmTaskState.Completed, done.State);
        Assert.Equal("6.", done.Output);
        Assert.Equal(25, done.InputTokens);
        Assert.Equal(3, done.OutputTokens);
        Assert.Equal((25 * 3m + 3 * 15m) / 1_000_000m, done.CostUsd);

        var request = Assert.Single(_h.Server.Requests);
        Assert.Equal("/v1/messages", request.Target);
        Assert.True(request.Header("x-api-key") == HttpHarness.Key || request.Header("Authorization") == "Bearer " + HttpHarness.Key);
        Assert.NotNull(request.Header("anthropic-version"));
        var body = request.Json;
        Assert.Equal("claude-sonnet-4-5", body.GetProperty("model").GetString());
        Assert.Equal("You are terse.", body.GetProperty("system").EnumerateArray().Single().GetProperty("text").GetString());
        Assert.Equal(
            ["user:Hi, what is 2+2?", "assistant:4.", "user:And 3+3?"],
            body.GetProperty("messages").EnumerateArray().Select(m => m.GetProperty("role").GetString() + ":" + m.GetProperty("content")[0].GetProperty("text").GetString()));
        Assert.Equal(0.2, body.GetProperty("temperature").GetDouble(), 3);
        Assert.Equal(50, body.GetProperty("max_tokens").GetInt32());
        Assert.Equal(["END"], body.GetProperty("stop_sequences").EnumerateArray().Select(s => s.GetString()));
    }

    [Fact]
    public void Without_options_max_tokens_has_a_default_and_no_temperature_is_sent()
    {
        _h.Server.Script(Reply.Json(200, RecordedResponses.AnthropicMessage("hi")));
        var done = _h.Run(new LlmTaskRequest { Model = "anthropic/claude-haiku-4-5", Messages = [new LlmMessage(LlmRole.User, "hello")] }, _h.Server.Url);
        Assert.Equal(LlmTaskState.Completed, done.State);
        var body = _h.Server.Requests.Single().Json;
        Assert.Equal(4096, body.GetProperty("max_tokens").GetInt32());
        Assert.False(body.TryGetProperty("temperature", out _));
        Assert.False(body.TryGetProperty("system", out _));
    }

    [Fact]
    public void A_json_schema_is_sent_as_output_config_and_the_answer_is_stored_parsed()
    {
        _h.Server.Script(Reply.Json(200, RecordedResponses.AnthropicMessage("""{"verdict":"no"}""")));
        var schema = """{"type":"object","properties":{"verdict":{"type":"string"}},"required":["verdict"],"additionalProperties":false}""";
        var done = _h.Run(HttpHarness.Conversation("anthropic/claude-sonnet-4-5") with { JsonSchema = schema }, _h.Server.Url);
        Assert.Equal(LlmTaskState.Completed, done.State);
        var body = _h.Server.Requests.Single().Json;
        var format = body.GetProperty("output_config").GetProperty("format");
        Assert.Equal("json_schema", format.GetProperty("type").GetString());
        Assert.Equal("string", format.GetProperty("schema").GetProperty("properties").GetProperty("verdict").GetProperty("type").GetString());
        Assert.Equal(0.2, body.GetProperty("temperature").GetDouble(), 3);
        using var stored = JsonDocument.Parse(_h.Attempts(done).Single().StructuredOutput!);
        Assert.Equal("no", stored.RootElement.GetProperty("verdict").GetString());
    }

    [Fact]
    public void A_429_with_retry_after_is_retried_after_that_wait()
    {
        _h.Server.Script(
            Reply.Json(429, RecordedResponses.AnthropicError("rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit"), ("retry-after", "1")),
            Reply.Json(200, RecordedResponses.AnthropicMessage("6.")));
        var done = _h.Run(HttpHarness.Conversation("anthropic/claude-sonnet-4-5"), _h.Server.Url);
        Assert.Equal(LlmTaskState.Completed, done.State);
        var attempts = _h.Attempts(done);
        Assert.Equal(2, attempts.Count);
        Assert.Equal("RateLimited", attempts[0].ErrorKind);
        Assert.Contains("per-minute rate limit", attempts[0].Error);
        using var details = JsonDocument.Parse(attempts[0].DetailsJson!);
        Assert.Equal(1000, details.RootElement.GetProperty("retryDelayMs").GetInt64());
    }

    [Theory]
    [InlineData(529, "overloaded_error", "Overloaded")]
    [InlineData(500, "api_error", "ServerError")]
    public void A_transient_status_is_retried_then_completes(int status, string type, string kind)
    {
        _h.Server.Script(Reply.Json(status, RecordedResponses.AnthropicError(type, "Overloaded or failing")), Reply.Json(200, RecordedResponses.AnthropicMessage("6.")));
        var done = _h.Run(HttpHarness.Conversation("anthropic/claude-sonnet-4-5"), _h.Server.Url);
        Assert.Equal(LlmTaskState.Completed, done.State);
        Assert.Equal(kind, _h.Attempts(done)[0].ErrorKind);
        Assert.Contains($"HTTP {status}", _h.Attempts(done)[0].Error);
    }

    [Fact]
    public void A_401_fails_at_once_with_the_providers_message()
    {
        _h.Server.Script(Reply.Json(401, RecordedResponses.AnthropicError("authentication_error", "invalid x-api-key")));
        var done = _h.Run(HttpHarness.Conversation("anthropic/claude-sonnet-4-5"), _h.Server.Url);
        Assert.Equal(LlmTaskState.Failed, done.State);
        Assert.Equal("AuthenticationFailed", done.ErrorKind);
        Assert.Contains("invalid x-api-key", done.Error);
        Assert.Equal(1, done.Attempts);
        Assert.Single(_h.Server.Requests);
    }

    [Fact]
    public void A_400_fails_at_once_as_InvalidRequest()
    {
        _h.Server.Script(Reply.Json(400, RecordedResponses.AnthropicError("invalid_request_error", "max_tokens: must be at most 64000")));
        var done = _h.Run(HttpHarness.Conversation("anthropic/claude-sonnet-4-5"), _h.Server.Url);
        Assert.Equal("InvalidRequest", done.ErrorKind);
        Assert.Contains("must be at most 64000", done.Error);
        Assert.Equal(1, done.Attempts);
    }

    [Fact]
    public void A_reset_connection_is_retried()
    {
        _h.Server.Script(Reply.Reset(), Reply.Json(200, RecordedResponses.AnthropicMessage("6.")));
        var done = _h.Run(HttpHarness.Conversation("anthropic/claude-sonnet-4-5"), _h.Server.Url);
        Assert.Equal(LlmTaskState.Completed, done.State);
        Assert.Equal("ConnectionFailed", _h.Attempts(done)[0].ErrorKind);
    }

    [Fact]
    public void Malformed_json_fails_as_InvalidResponse()
    {
        _h.Server.Script(Reply.Json(200, """{"id":"msg_1","type":"message","content":[{"type":"te"""));
        var done = _h.Run(HttpHarness.Conversation("anthropic/claude-sonnet-4-5"), _h.Server.Url);
        Assert.Equal(LlmTaskState.Failed, done.State);
        Assert.Equal("InvalidResponse", done.ErrorKind);
        Assert.Equal(1, done.Attempts);
    }

    [Fact]
    public void A_missing_key_names_ANTHROPIC_API_KEY()
    {
        var done = _h.Run(HttpHarness.Conversation("anthropic/claude-sonnet-4-5"), _h.Server.Url, key: null);
        Assert.Equal(ErrorIds.MissingApiKey, done.ErrorKind);
        Assert.Contains("$env:ANTHROPIC_API_KEY", done.Error);
    }
}

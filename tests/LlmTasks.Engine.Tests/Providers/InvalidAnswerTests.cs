using System.Text;
using LlmTasks.Tests.Http;

namespace LlmTasks.Tests.Providers;

/// <summary>
/// A 200 answer that is not a chat completion (invalid UTF-8, JSON of the wrong shape) fails at once as
/// InvalidResponse, with a message that says so, not as a ProviderError carrying .NET's exception text.
/// </summary>
public sealed class InvalidAnswerTests : IDisposable
{
    private readonly HttpHarness _h = new();

    public void Dispose() => _h.Dispose();

    public static TheoryData<string, string> Bodies() => new()
    {
        { "openai/gpt-4o-mini", "invalid-utf8" },
        { "openai/gpt-4o-mini", """{"id":"x","object":"chat.completion","choices":"none"}""" },
        { "openai/gpt-4o-mini", """[1,2,3]""" },
        { "openai/gpt-4o-mini", """{"id":"x","object":"chat.completion","created":"yesterday","choices":[{"index":"zero","message":{"role":7}}]}""" },
        { "anthropic/claude-haiku-4-5", "invalid-utf8" },
        { "anthropic/claude-haiku-4-5", """{"id":"msg_1","type":"message","role":"assistant","content":"not a list","usage":{"input_tokens":"many"}}""" },
        { "anthropic/claude-haiku-4-5", """[1,2,3]""" },
    };

    [Theory]
    [MemberData(nameof(Bodies))]
    public void A_200_body_that_is_not_a_chat_completion_is_an_InvalidResponse_that_is_not_retried(string model, string body)
    {
        var bytes = body == "invalid-utf8"
            ? Encoding.UTF8.GetBytes(model.StartsWith("openai", StringComparison.Ordinal) ? RecordedResponses.OpenAIChat("XX") : RecordedResponses.AnthropicMessage("XX"))
            : Encoding.UTF8.GetBytes(body);
        if (body == "invalid-utf8")
        {
            var at = Encoding.UTF8.GetString(bytes).IndexOf("XX", StringComparison.Ordinal);
            bytes[at] = 0xFF; // not UTF-8 anywhere
            bytes[at + 1] = 0xFE;
        }

        _h.Server.Script(Reply.Raw(200, bytes));
        var done = _h.Run(HttpHarness.Conversation(model), model.StartsWith("openai", StringComparison.Ordinal) ? _h.Server.Url + "/v1" : _h.Server.Url);

        Assert.Equal(LlmTaskState.Failed, done.State);
        Assert.Equal("InvalidResponse", done.ErrorKind);
        Assert.Equal(1, done.Attempts);
        Assert.Single(_h.Server.Requests);
        Assert.Contains("not a chat completion this module can read", done.Error);
        Assert.DoesNotContain("Exception", done.Error); // a message for people, not a .NET type name
    }
}

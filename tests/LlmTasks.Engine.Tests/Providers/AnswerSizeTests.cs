using LlmTasks.Providers.ClaudeCode;
using LlmTasks.Tests.Doubles;
using LlmTasks.Tests.Http;

namespace LlmTasks.Tests.Providers;

/// <summary>
/// An answer over the cap ($env:LLMTASKS_MAX_ANSWER_MB, here 1 MB) fails as ResponseTooLarge, once, while it
/// is read: the client stops after about the cap, so the server cannot get more than the cap plus the
/// sockets' buffers onto the wire, and no SDK buffers the whole answer. Memory is bounded by what was read.
/// </summary>
public sealed class AnswerSizeTests : IDisposable
{
    private const long Body = 128L * 1024 * 1024; // what the server would send: 128 times the cap
    private const long Bound = 32L * 1024 * 1024; // the cap, the loopback sockets' buffers and then some

    private readonly HttpHarness _h = new(environment: new Dictionary<string, string> { ["LLMTASKS_MAX_ANSWER_MB"] = "1" });

    public void Dispose() => _h.Dispose();

    [Theory]
    [InlineData("openai/gpt-4o-mini", true)]
    [InlineData("openai/gpt-4o-mini", false)]
    [InlineData("anthropic/claude-haiku-4-5", true)]
    [InlineData("anthropic/claude-haiku-4-5", false)]
    [InlineData("azure/my-deployment", true)]
    public void An_answer_over_the_cap_fails_as_ResponseTooLarge_without_being_read_whole(string model, bool chunked)
    {
        _h.Server.Script(Reply.Huge(Body, chunked));
        var apiBase = model.StartsWith("openai", StringComparison.Ordinal) ? _h.Server.Url + "/v1" : _h.Server.Url;
        var done = _h.Run(HttpHarness.Conversation(model), apiBase);

        Assert.Equal(LlmTaskState.Failed, done.State);
        Assert.Equal("ResponseTooLarge", done.ErrorKind);
        Assert.Contains("1 MB limit", done.Error);
        Assert.Contains("LLMTASKS_MAX_ANSWER_MB", done.Error);
        if (!chunked)
        {
            Assert.Contains("declared 128 MB", done.Error); // refused from its Content-Length, before the body
        }

        Assert.Equal(1, done.Attempts); // not retried: the same request would get the same answer
        Assert.Single(_h.Server.Requests);
        Assert.True(_h.Server.HugeBytesSent < Bound, $"the client read on: {_h.Server.HugeBytesSent} of {Body} bytes were sent");
    }

    [Fact]
    public void An_answer_under_the_cap_is_read_whole()
    {
        var text = new string('y', 600 * 1024);
        _h.Server.Script(Reply.Json(200, RecordedResponses.OpenAIChat(text)));
        var done = _h.Run(HttpHarness.Conversation("openai/gpt-4o-mini"), _h.Server.Url + "/v1");
        Assert.Equal(LlmTaskState.Completed, done.State);
        Assert.Equal(text, done.Output);
    }

    [SkippableFact]
    public void The_CLIs_output_over_the_cap_stops_it_and_fails_as_ResponseTooLarge()
    {
        Skip.If(OperatingSystem.IsWindows(), "the fake CLI is a bash script");
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        using var temp = new TempStore();
        var finished = Path.Combine(temp.Folder, "finished");
        var script = Path.Combine(temp.Folder, "claude");
        // 128 MB on one line, then a marker: a reader that stops at the cap leaves the script blocked on a full pipe until it is killed.
        File.WriteAllText(script, $"#!/usr/bin/env bash\ncat > /dev/null\nhead -c {Body} /dev/zero | tr '\\0' 'a'\necho done > '{finished}'\n");
        File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var provider = new ClaudeCodeProvider(new ClaudeCodeOptions { ExecutablePath = script, MaxOutputBytesOverride = 1024 * 1024 });
        using var manager = Managers.Open(temp.Path, provider);
        var task = manager.Start(new LlmTaskRequest { Model = "max/sonnet", Messages = [new LlmMessage(LlmRole.User, "hi")] });
        var done = Assert.Single(Managers.WaitAll(manager, [task.Id]));

        Assert.Equal(LlmTaskState.Failed, done.State);
        Assert.Equal("ResponseTooLarge", done.ErrorKind);
        Assert.Contains("1 MB limit", done.Error);
        Assert.Equal(1, done.Attempts);
        Thread.Sleep(200); // had the script been left running, it would have written its marker by now
        Assert.False(File.Exists(finished), "the CLI's whole output was read");
    }
}

using System.Collections.Concurrent;
using System.Text.Json;
using LlmTasks.Execution;
using LlmTasks.Storage;
using LlmTasks.Tests.Http;

namespace LlmTasks.Tests.Providers;

/// <summary>
/// Calls stream where the provider can: the answer arrives as server-sent events from a loopback server on a real
/// socket. Its text is saved as the task's PartialOutput while it arrives (another reader of the store file sees it
/// grow), a stream cut off mid-answer is a transient failure retried with the text it had kept on its attempt row,
/// a streamed answer is capped as a whole one is, and with streaming off the call is sent whole.
/// </summary>
public sealed class StreamingTests
{
    private static string Base(HttpHarness h, string model) => model.StartsWith("anthropic", StringComparison.Ordinal) ? h.Server.Url : h.Server.Url + "/v1";

    private static IReadOnlyList<string> Events(string model, IEnumerable<string> pieces, bool finished = true) =>
        model.StartsWith("anthropic", StringComparison.Ordinal)
            ? RecordedResponses.AnthropicStream(pieces, stop: finished ? "end_turn" : null)
            : RecordedResponses.OpenAIStream(pieces, finish: finished ? "stop" : null);

    private static string Whole(string model, string text) =>
        model.StartsWith("anthropic", StringComparison.Ordinal) ? RecordedResponses.AnthropicMessage(text) : RecordedResponses.OpenAIChat(text);

    [Theory]
    [InlineData("openai/gpt-4o-mini")]
    [InlineData("anthropic/claude-sonnet-4-5")]
    [InlineData("azure/my-deployment")]
    public void A_streamed_answer_is_saved_as_partial_output_while_it_arrives_and_cleared_when_it_completes(string model)
    {
        using var h = new HttpHarness(options: o => o with { PartialOutputInterval = TimeSpan.FromMilliseconds(50) });
        h.Environment["AZURE_OPENAI_ENDPOINT"] = h.Server.Url;
        string[] pieces = ["The answer ", "is four, ", "because two ", "and two ", "make four."];
        h.Server.Script(Reply.Stream(Events(model, pieces), gap: TimeSpan.FromMilliseconds(300)));
        var arrived = new ConcurrentQueue<TaskOutputPiece>();
        h.Manager.OutputArrived += arrived.Enqueue;

        var task = h.Manager.Start(HttpHarness.Conversation(model) with { ApiBase = model.StartsWith("azure", StringComparison.Ordinal) ? null : Base(h, model) },
            new TaskSecrets(HttpHarness.Key));
        // Another reader of the store file (as Get-LlmTask in another shell is) sees the text grow while the task runs.
        var seen = new List<string>();
        using (var other = TaskStore.Open(h.StorePath))
        {
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (DateTime.UtcNow < deadline && other.Get(task.Id) is { } now && !now.State.IsTerminal())
            {
                if (now.State == LlmTaskState.Running && now.PartialOutput is { } partial && (seen.Count == 0 || seen[^1] != partial))
                {
                    seen.Add(partial);
                }

                Thread.Sleep(20);
            }
        }

        var done = LlmTasks.Tests.Doubles.Managers.WaitAll(h.Manager, [task.Id]).Single();
        Assert.True(done.State == LlmTaskState.Completed, done.Error);
        var answer = string.Concat(pieces);
        Assert.Equal(answer, done.Output);
        Assert.Null(done.PartialOutput); // the answer is the output now
        Assert.True(seen.Count >= 2 && seen[0].Length < answer.Length, $"the partial output did not grow: {string.Join(" | ", seen)}");
        Assert.All(seen, partial => Assert.True(answer.StartsWith(partial, StringComparison.Ordinal), $"'{partial}' is not the start of the answer"));
        Assert.Equal(answer, string.Concat(arrived.Where(p => p.TaskId == task.Id).Select(p => p.Text)));
        var attempt = Assert.Single(h.Attempts(done));
        Assert.NotNull(attempt.TimeToFirstToken);
        Assert.True(attempt.TimeToFirstToken <= attempt.Latency);
        Assert.True(h.Server.Requests.Single().Json.GetProperty("stream").GetBoolean());
    }

    [Theory]
    [InlineData("openai/gpt-4o-mini", true)]
    [InlineData("openai/gpt-4o-mini", false)]
    [InlineData("anthropic/claude-sonnet-4-5", true)]
    [InlineData("anthropic/claude-sonnet-4-5", false)]
    public void A_stream_cut_off_mid_answer_is_retried_and_its_text_stays_on_its_attempt(string model, bool brokenConnection)
    {
        using var h = new HttpHarness();
        // Broken: the connection closes mid-body. Ended early: the body ends, but the answer never said it was done.
        h.Server.Script(
            Reply.Stream(Events(model, ["Half of ", "the ans"], finished: false), cut: brokenConnection),
            Reply.Json(200, Whole(model, "Half of the answer, and the rest.")));
        var done = h.Run(HttpHarness.Conversation(model), Base(h, model));

        Assert.True(done.State == LlmTaskState.Completed, done.Error);
        Assert.Equal("Half of the answer, and the rest.", done.Output);
        var rows = h.Attempts(done);
        Assert.Equal([LlmAttemptOutcome.Failed, LlmAttemptOutcome.Succeeded], rows.Select(r => r.Outcome));
        Assert.Equal(2, h.Server.Requests.Count); // one row per request
        Assert.Equal("TruncatedStream", rows[0].ErrorKind);
        Assert.Equal("Half of the ans", rows[0].Output); // what had arrived is kept
        using var details = JsonDocument.Parse(rows[0].DetailsJson!);
        Assert.True(details.RootElement.GetProperty("transient").GetBoolean());
        Assert.Equal(15, details.RootElement.GetProperty("partialChars").GetInt32());
    }

    [Fact]
    public void A_stream_that_keeps_breaking_fails_as_TruncatedStream_after_the_retries()
    {
        using var h = new HttpHarness(new RetryOptions { MaxRetries = 2, BaseDelay = TimeSpan.FromMilliseconds(10), MaxDelay = TimeSpan.FromMilliseconds(50), AttemptTimeout = TimeSpan.FromSeconds(30) });
        h.Server.Script(Reply.Stream(RecordedResponses.OpenAIStream(["never ", "whole"], finish: null), cut: true));
        var done = h.Run(HttpHarness.Conversation("openai/gpt-4o-mini"), h.Server.Url + "/v1");

        Assert.Equal((LlmTaskState.Failed, "TruncatedStream"), (done.State, done.ErrorKind));
        Assert.Contains("gave up after 3 tries", done.Error);
        Assert.Equal(3, h.Server.Requests.Count);
        Assert.All(h.Attempts(done), a => Assert.Equal(("TruncatedStream", "never whole"), (a.ErrorKind, a.Output)));
    }

    [Theory]
    [InlineData("openai/gpt-4o-mini")]
    [InlineData("anthropic/claude-sonnet-4-5")]
    public void A_streamed_answer_over_the_cap_fails_as_ResponseTooLarge_without_being_read_whole(string model)
    {
        using var h = new HttpHarness(environment: new Dictionary<string, string> { ["LLMTASKS_MAX_ANSWER_MB"] = "1" });
        var block = new string('z', 64 * 1024);
        // 2,048 events of 64 K characters: 128 MB of text the server would send, 128 times the cap.
        h.Server.Script(Reply.Stream(Events(model, Enumerable.Repeat(block, 2048), finished: true)));
        var done = h.Run(HttpHarness.Conversation(model), Base(h, model));

        Assert.Equal((LlmTaskState.Failed, "ResponseTooLarge"), (done.State, done.ErrorKind));
        Assert.Contains("streamed answer is larger than the 1 MB limit", done.Error);
        Assert.Equal(1, done.Attempts); // not retried
        Assert.True(h.Server.HugeBytesSent < 32L * 1024 * 1024, $"the client read on: {h.Server.HugeBytesSent} bytes were sent");
    }

    [Fact]
    public void With_streaming_off_the_call_is_sent_and_read_whole()
    {
        using var h = new HttpHarness(options: o => o with { Streaming = false });
        h.Server.Script(Reply.Json(200, RecordedResponses.OpenAIChat("6.")));
        var arrived = new ConcurrentQueue<TaskOutputPiece>();
        h.Manager.OutputArrived += arrived.Enqueue;
        var done = h.Run(HttpHarness.Conversation("openai/gpt-4o-mini"), h.Server.Url + "/v1");

        Assert.Equal(("6.", LlmTaskState.Completed), (done.Output, done.State));
        Assert.False(h.Server.Requests.Single().Json.TryGetProperty("stream", out _));
        Assert.Null(h.Attempts(done).Single().TimeToFirstToken);
        Assert.DoesNotContain(arrived, p => p.Text is not null);
    }
}

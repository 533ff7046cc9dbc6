using System.Text.Json;
using LlmTasks.Execution;
using LlmTasks.Providers;
using LlmTasks.Providers.Pricing;
using LlmTasks.Storage;
using LlmTasks.Tests.Doubles;

namespace LlmTasks.Tests.Http;

/// <summary>
/// -AsBatch with openai/… models through the OpenAI SDK's file and batch clients, against a loopback server speaking
/// the Files and Batch API: the JSONL upload, the batch's states, the output and error files, expiry and cancellation.
/// </summary>
public sealed class OpenAIBatchTests : IDisposable
{
    private readonly FakeOpenAIBatchServer _fake = new();
    private readonly HttpHarness _http = new(options: o => o with
    {
        BatchWindow = TimeSpan.FromMilliseconds(200),
        BatchPollMin = TimeSpan.FromMilliseconds(50),
        BatchPollMax = TimeSpan.FromMilliseconds(200),
    });

    public void Dispose()
    {
        _http.Dispose();
        _fake.Dispose();
    }

    private List<long> Start(params string[] prompts) => prompts
        .Select(p => _http.Manager.Start(Managers.Request(p, "openai/gpt-4o-mini") with
        {
            Batch = true,
            ApiBase = _fake.ApiBase,
            Temperature = 0.3,
            MaxTokens = 40,
        }, new TaskSecrets(HttpHarness.Key)).Id)
        .ToList();

    [Fact]
    public void A_batch_is_uploaded_as_JSONL_polled_to_completed_and_each_line_of_the_output_and_error_files_reaches_its_task()
    {
        _fake.Answer = body => body.GetProperty("messages")[0].GetProperty("content").GetString() == "bad"
            ? (400, """{"error":{"message":"max_completion_tokens is too large","type":"invalid_request_error","code":"invalid_value"}}""")
            : FakeOpenAIBatchServer.Echo(body);
        var ids = Start("one", "bad", "three");
        var done = Managers.WaitAll(_http.Manager, ids).ToDictionary(t => t.Prompt);

        var upload = _fake.Files.Values.Single(f => f.Purpose == "batch");
        var lines = upload.Content.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(ids.Select(id => $"task-{id}-1").Order(), lines.Select(l => l.GetProperty("custom_id").GetString()).Order());
        Assert.All(lines, l =>
        {
            Assert.Equal(("POST", "/v1/chat/completions"), (l.GetProperty("method").GetString(), l.GetProperty("url").GetString()));
            var body = l.GetProperty("body");
            Assert.Equal(("gpt-4o-mini", 0.3, 40), (body.GetProperty("model").GetString(), body.GetProperty("temperature").GetDouble(), body.GetProperty("max_completion_tokens").GetInt32()));
            Assert.Equal("user", body.GetProperty("messages")[0].GetProperty("role").GetString());
        });
        var batch = _fake.Batches.Single();
        Assert.Equal(("/v1/chat/completions", "24h", "completed"), (batch["endpoint"]!.GetValue<string>(), batch["completion_window"]!.GetValue<string>(), batch["status"]!.GetValue<string>()));
        Assert.Equal(["in_progress", "finalizing", "completed"], _fake.Seen.Distinct());
        Assert.All(_fake.Server.Requests, r => Assert.Equal($"Bearer {HttpHarness.Key}", r.Header("Authorization")));
        Assert.Contains(_fake.Server.Requests, r => r.Method == "GET" && r.Target.EndsWith($"/files/{batch["output_file_id"]}/content"));
        Assert.Contains(_fake.Server.Requests, r => r.Method == "GET" && r.Target.EndsWith($"/files/{batch["error_file_id"]}/content"));

        var live = ModelPrices.Cost(ModelId.Parse("openai/gpt-4o-mini", ["openai"]), 1000, 500)!.Value;
        foreach (var prompt in new[] { "one", "three" })
        {
            Assert.Equal((LlmTaskState.Completed, "echo: " + prompt, 1000L, 500L, live / 2), (done[prompt].State, done[prompt].Output, done[prompt].InputTokens, done[prompt].OutputTokens, done[prompt].CostUsd));
        }

        Assert.Equal((LlmTaskState.Failed, "InvalidRequest"), (done["bad"].State, done["bad"].ErrorKind));
        Assert.Contains("max_completion_tokens is too large", done["bad"].Error);
        Assert.All(ids, id => Assert.Single(_http.Manager.Store.GetAttempts(id)));
        var stored = _http.Manager.Store.GetBatches(new BatchQuery()).Single();
        Assert.True(SpinWait.SpinUntil(() => _http.Manager.Store.GetBatches(new BatchQuery()).Single().State == LlmBatchState.Completed, TimeSpan.FromSeconds(30)));
        Assert.Equal(batch["id"]!.GetValue<string>(), stored.ProviderBatchId);
    }

    [Fact]
    public void An_expired_batch_keeps_the_answers_in_its_output_file_and_fails_the_rest_as_BatchExpired()
    {
        _fake.Ending = "expired";
        _fake.AnsweredBeforeExpiry = 1;
        var done = Managers.WaitAll(_http.Manager, Start("a", "b", "c"));
        Assert.Single(done, t => t.State == LlmTaskState.Completed);
        Assert.Equal(2, done.Count(t => t.ErrorKind == "BatchExpired"));
        Assert.True(SpinWait.SpinUntil(() => _http.Manager.Store.GetBatches(new BatchQuery()).Single().State == LlmBatchState.Expired, TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public void A_batch_that_failed_at_the_provider_fails_its_tasks_with_the_providers_reason()
    {
        _fake.Ending = "failed";
        var done = Managers.WaitAll(_http.Manager, Start("a", "b"));
        Assert.All(done, t => Assert.Equal((LlmTaskState.Failed, "BatchFailed"), (t.State, t.ErrorKind)));
        Assert.All(done, t => Assert.Contains("does not support batches", t.Error));
    }

    [Fact]
    public void Stopping_every_task_cancels_the_batch_with_a_POST_to_cancel()
    {
        _fake.Proceed = false;
        var ids = Start("a", "b");
        Assert.True(SpinWait.SpinUntil(() => _fake.Seen.Contains("in_progress"), TimeSpan.FromSeconds(30)));
        _http.Manager.Stop(ids);
        var done = Managers.WaitAll(_http.Manager, ids);
        Assert.All(done, t => Assert.Equal(LlmTaskState.Cancelled, t.State));
        Assert.Contains(_fake.Server.Requests, r => r.Method == "POST" && r.Target.EndsWith("/cancel"));
        Assert.Equal("cancelled", _fake.Batches.Single()["status"]!.GetValue<string>());
    }

    [Fact]
    public void OpenAI_compatible_servers_without_the_Batch_API_and_Azure_are_refused_before_anything_is_stored()
    {
        foreach (var model in new[] { "ollama/llama3", "vllm/x", "azure/gpt-4o-mini" })
        {
            var error = Assert.Throws<LlmTasksException>(() => _http.Manager.Start(Managers.Request("hi", model) with { Batch = true }));
            Assert.Equal(ErrorIds.BatchNotSupported, error.ErrorId);
        }

        Assert.Empty(_http.Manager.Store.Query(TaskQuery.All));
    }
}

using LlmTasks.Execution;
using LlmTasks.Providers;
using LlmTasks.Providers.Pricing;
using LlmTasks.Storage;
using LlmTasks.Tests.Doubles;

namespace LlmTasks.Tests.Http;

/// <summary>
/// -AsBatch with anthropic/… models through the Anthropic SDK's Message Batches, against a loopback server speaking
/// the API: create, retrieve until ended, the results JSONL (succeeded, errored, canceled, expired), cancel.
/// </summary>
public sealed class AnthropicBatchTests : IDisposable
{
    private readonly FakeAnthropicBatchServer _fake = new();
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
        .Select(p => _http.Manager.Start(new LlmTaskRequest
        {
            Model = "anthropic/claude-sonnet-4-5",
            Messages = [new LlmMessage(LlmRole.System, "Be brief."), new LlmMessage(LlmRole.User, p)],
            Batch = true,
            ApiBase = _fake.ApiBase,
            Temperature = 0.5,
        }, new TaskSecrets(HttpHarness.Key)).Id)
        .ToList();

    [Fact]
    public void A_message_batch_is_created_polled_until_ended_and_each_result_line_reaches_its_task_by_custom_id()
    {
        _fake.Outcome = r => r["params"]!["messages"]!.AsArray().Last()!["content"]!.GetValue<string>() switch
        {
            "bad" => "errored",
            "late" => "expired",
            _ => "succeeded",
        };
        var ids = Start("one", "bad", "late", "four");
        var done = Managers.WaitAll(_http.Manager, ids).ToDictionary(t => t.Prompt);

        var created = _fake.Created.Single();
        var requests = created["requests"]!.AsArray();
        Assert.Equal(ids.Select(id => $"task-{id}-1").Order(), requests.Select(r => r!["custom_id"]!.GetValue<string>()).Order());
        var first = requests[0]!["params"]!;
        Assert.Equal(("claude-sonnet-4-5", "Be brief.", 0.5, 4096), (first["model"]!.GetValue<string>(), first["system"]!.GetValue<string>(), first["temperature"]!.GetValue<double>(), first["max_tokens"]!.GetValue<int>()));
        Assert.Equal("user", first["messages"]![0]!["role"]!.GetValue<string>());
        Assert.All(_fake.Server.Requests, r => Assert.True(r.Header("x-api-key") == HttpHarness.Key || r.Header("Authorization") == "Bearer " + HttpHarness.Key));
        Assert.Contains(_fake.Server.Requests, r => r.Method == "GET" && r.Target.EndsWith("/results"));

        var live = ModelPrices.Cost(ModelId.Parse("anthropic/claude-sonnet-4-5", ["anthropic"]), 1000, 500)!.Value;
        foreach (var prompt in new[] { "one", "four" })
        {
            Assert.Equal((LlmTaskState.Completed, "echo: " + prompt, live / 2), (done[prompt].State, done[prompt].Output, done[prompt].CostUsd));
        }

        Assert.Equal((LlmTaskState.Failed, "InvalidRequest"), (done["bad"].State, done["bad"].ErrorKind));
        Assert.Contains("too large", done["bad"].Error);
        Assert.Equal((LlmTaskState.Failed, "BatchExpired"), (done["late"].State, done["late"].ErrorKind));
        Assert.All(ids, id => Assert.Single(_http.Manager.Store.GetAttempts(id)));
        Assert.True(SpinWait.SpinUntil(() => _http.Manager.Store.GetBatches(new BatchQuery()).Single().State.IsTerminal(), TimeSpan.FromSeconds(30)));
        var batch = _http.Manager.Store.GetBatches(new BatchQuery()).Single();
        Assert.Equal(("msgbatch_0001", "ended", 2 * live / 2), (batch.ProviderBatchId, batch.ProviderStatus, batch.CostUsd));
    }

    [Fact]
    public void Stopping_every_task_cancels_the_message_batch_and_its_canceled_results_end_the_tasks_Cancelled()
    {
        _fake.Proceed = false;
        var ids = Start("a", "b");
        Assert.True(SpinWait.SpinUntil(() => _http.Manager.Store.GetBatches(new BatchQuery()).SingleOrDefault()?.ProviderBatchId is not null, TimeSpan.FromSeconds(30)));
        _http.Manager.Stop(ids);
        var done = Managers.WaitAll(_http.Manager, ids);
        Assert.All(done, t => Assert.Equal((LlmTaskState.Cancelled, "Cancelled"), (t.State, t.ErrorKind)));
        Assert.Contains(_fake.Server.Requests, r => r.Method == "POST" && r.Target.EndsWith("/cancel"));
        Assert.True(SpinWait.SpinUntil(() => _http.Manager.Store.GetBatches(new BatchQuery()).Single().State == LlmBatchState.Cancelled, TimeSpan.FromSeconds(30)));
    }
}

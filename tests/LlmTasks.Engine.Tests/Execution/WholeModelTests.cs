using LlmTasks.Execution;
using LlmTasks.Providers;
using LlmTasks.Providers.Mock;
using LlmTasks.Storage;
using LlmTasks.Tests.Doubles;
using LlmTasks.Verification;

namespace LlmTasks.Tests.Execution;

/// <summary>
/// A model string is resolved whole when its task is created ($env:LLMTASKS_DEFAULT_PROVIDER read then, by the
/// registry of the process that creates it) and stored as provider/model, the judges' models too; a stored task is
/// routed by what was stored, never by the default provider of whichever process resumes it.
/// </summary>
public sealed class WholeModelTests : IDisposable
{
    private readonly TempStore _temp = new();

    public void Dispose() => _temp.Dispose();

    private TaskManager Open(string? defaultProvider) =>
        TaskManager.Open(_temp.Path, new TaskManagerOptions { PollInterval = TimeSpan.FromMilliseconds(50) }, new ProviderRegistry([new MockProvider()], defaultProvider));

    [Fact]
    public void A_model_without_a_prefix_is_stored_whole_with_the_default_provider_of_the_process_that_creates_it()
    {
        using var manager = Open(defaultProvider: "mock");
        var task = manager.Start(Managers.Request("hi", model: "echo") with
        {
            Verification = new VerificationPlan { Checks = [new CheckSpec { Type = "Judge", Model = "echo", Criteria = "ok", MockResponse = """{"passed":true,"reasoning":"ok"}""" }] },
        });

        var stored = manager.Store.Get(task.Id)!;
        Assert.Equal("mock/echo", stored.Model);
        Assert.Equal("mock/echo", stored.Request.Model);
        Assert.Equal("mock/echo", stored.Request.Verification!.Checks.Single().Model);
        Assert.Equal(LlmTaskState.Completed, Managers.WaitAll(manager, [task.Id]).Single().State);
    }

    [Fact]
    public void A_stored_model_without_a_prefix_is_never_routed_by_the_resuming_processs_default_provider()
    {
        // As an earlier version stored it: the bare model, to be routed by whoever ran it.
        long id;
        using (var store = TaskStore.Open(_temp.Path))
        {
            id = store.Insert(Managers.Request("hi", model: "echo"), "mock", null, null).Id;
        }

        using var manager = Open(defaultProvider: "mock");
        var done = Managers.WaitAll(manager, [id]).Single(); // the wait runs it: nobody holds it
        Assert.Equal(LlmTaskState.Failed, done.State);
        Assert.Contains("provider", done.Error, StringComparison.OrdinalIgnoreCase); // the error asks for a prefix instead of guessing one
        Assert.Null(done.Output);
    }
}

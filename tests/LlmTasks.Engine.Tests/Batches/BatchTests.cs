using LlmTasks.Batches;
using LlmTasks.Execution;
using LlmTasks.Providers;
using LlmTasks.Providers.Pricing;
using LlmTasks.Storage;
using LlmTasks.Tests.Doubles;

namespace LlmTasks.Tests.Batches;

/// <summary>
/// Tasks sent as provider batches (Start-LlmTask -AsBatch), against a batch API the test drives: gathering and splitting,
/// results by custom id at the batch price, per-request errors, expiry, cancellation, and a batch taken over from a
/// process that died, on both store backends.
/// </summary>
public abstract class BatchTests(StoreKind kind) : IDisposable
{
    public sealed class OnSqlite() : BatchTests(StoreKind.Sqlite);

    public sealed class OnPostgres() : BatchTests(StoreKind.Postgres);

    private readonly TempStore _temp = new(kind);

    public void Dispose() => _temp.Dispose();

    private static readonly TaskManagerOptions Quick = new()
    {
        BatchWindow = TimeSpan.FromMilliseconds(200),
        BatchPollMin = TimeSpan.FromMilliseconds(50),
        BatchPollMax = TimeSpan.FromMilliseconds(200),
    };

    private static LlmTaskRequest Batched(string prompt, string model = "openai/gpt-4o-mini") => Managers.Request(prompt, model) with { Batch = true };

    [Fact]
    public void Tasks_started_together_go_as_one_batch_and_each_result_reaches_its_task_by_custom_id_at_half_the_live_price()
    {
        var fake = new FakeBatchProvider { ErrorKindFor = r => r.Request.Prompt == "bad" ? "InvalidRequest" : null };
        using var manager = Managers.Open(_temp.Path, Quick, fake);
        var ids = new[] { "one", "two", "bad", "four" }.Select(p => manager.Start(Batched(p)).Id).ToList();

        var batch = fake.WaitForBatches(1).Single();
        Assert.Equal(4, batch.Requests.Count);
        Assert.Equal(ids.Select(id => $"task-{id}-1").Order(), batch.Requests.Select(r => r.CustomId).Order());
        var stored = manager.Store.GetBatches(new BatchQuery()).Single();
        Assert.Equal((4, "openai", "openai/gpt-4o-mini"), (stored.RequestCount, stored.Provider, stored.Model));
        SpinWait.SpinUntil(() => manager.Store.GetBatches(new BatchQuery()).Single().ProviderBatchId is not null, TimeSpan.FromSeconds(30));
        Assert.All(manager.Store.Query(new TaskQuery { Ids = ids }), t => Assert.Equal((LlmTaskState.Running, (long?)stored.Id), (t.State, t.BatchId)));

        batch.Complete();
        var done = Managers.WaitAll(manager, ids).ToDictionary(t => t.Prompt);
        var live = ModelPrices.Cost(ModelId.Parse("openai/gpt-4o-mini", ["openai"]), 1000, 500)!.Value;
        foreach (var prompt in new[] { "one", "two", "four" })
        {
            var task = done[prompt];
            Assert.Equal((LlmTaskState.Completed, "answer: " + prompt, 1, 1000L, 500L), (task.State, task.Output, task.Attempts, task.InputTokens, task.OutputTokens));
            Assert.Equal(live / 2, task.CostUsd);
            var attempt = manager.Store.GetAttempts(task.Id).Single();
            Assert.Equal(LlmAttemptOutcome.Succeeded, attempt.Outcome);
            Assert.Contains(batch.Id, attempt.DetailsJson);
        }

        Assert.Equal((LlmTaskState.Failed, "InvalidRequest", 1), (done["bad"].State, done["bad"].ErrorKind, done["bad"].Attempts));
        Assert.Equal(LlmAttemptOutcome.Failed, manager.Store.GetAttempts(done["bad"].Id).Single().Outcome);
        Assert.True(SpinWait.SpinUntil(() => manager.Store.GetBatches(new BatchQuery()).Single().State == LlmBatchState.Completed, TimeSpan.FromSeconds(30)));
        var ended = manager.Store.GetBatches(new BatchQuery { TaskIds = [ids[0]] }).Single();
        Assert.Equal((batch.Id, 3, 1, 3 * live / 2), (ended.ProviderBatchId, ended.CompletedCount, ended.FailedCount, ended.CostUsd));
    }

    [Fact]
    public void A_gathering_is_split_at_the_providers_request_limit()
    {
        var fake = new FakeBatchProvider(limits: new BatchLimits(2, long.MaxValue));
        using var manager = Managers.Open(_temp.Path, Quick, fake);
        var ids = Enumerable.Range(0, 5).Select(i => manager.Start(Batched($"p{i}")).Id).ToList();
        var batches = fake.WaitForBatches(3);
        Assert.Equal([1, 2, 2], batches.Select(b => b.Requests.Count).Order());
        foreach (var batch in batches)
        {
            batch.Complete();
        }

        Assert.All(Managers.WaitAll(manager, ids), t => Assert.Equal(LlmTaskState.Completed, t.State));
        Assert.Equal(3, manager.Store.GetBatches(new BatchQuery()).Count);
    }

    [Fact]
    public void An_expired_batch_fails_what_it_did_not_answer_with_BatchExpired_and_Restart_sends_those_again()
    {
        var fake = new FakeBatchProvider();
        using var manager = Managers.Open(_temp.Path, Quick, fake);
        var ids = new[] { "a", "b", "c" }.Select(p => manager.Start(Batched(p)).Id).ToList();
        fake.WaitForBatches(1).Single().Expire(answered: 1);

        var done = Managers.WaitAll(manager, ids);
        Assert.Single(done, t => t.State == LlmTaskState.Completed);
        var expired = done.Where(t => t.State != LlmTaskState.Completed).ToList();
        Assert.Equal(2, expired.Count);
        Assert.All(expired, t => Assert.Equal((LlmTaskState.Failed, "BatchExpired", 1), (t.State, t.ErrorKind, t.Attempts)));
        Assert.All(expired, t => Assert.Equal(LlmAttemptOutcome.Failed, manager.Store.GetAttempts(t.Id).Single().Outcome));
        Assert.Equal(LlmBatchState.Expired, manager.Store.GetBatches(new BatchQuery()).Single().State);

        manager.Restart(expired.Select(t => t.Id).ToList());
        var again = fake.WaitForBatches(2).Single(b => b.Requests.Count == 2);
        Assert.All(again.Requests, r => Assert.EndsWith("-2", r.CustomId)); // the task's second attempt
        again.Complete();
        Assert.All(Managers.WaitAll(manager, expired.Select(t => t.Id)), t => Assert.Equal((LlmTaskState.Completed, 2), (t.State, t.Attempts)));
    }

    [Fact]
    public void Stopping_every_task_of_a_batch_cancels_it_at_the_provider_and_stopping_some_ends_only_those()
    {
        var fake = new FakeBatchProvider();
        using var manager = Managers.Open(_temp.Path, Quick, fake);
        var ids = new[] { "a", "b", "c" }.Select(p => manager.Start(Batched(p)).Id).ToList();
        var batch = fake.WaitForBatches(1).Single();
        SpinWait.SpinUntil(() => manager.Store.GetBatches(new BatchQuery()).Single().ProviderBatchId is not null, TimeSpan.FromSeconds(30));

        manager.Stop([ids[0]]);
        Assert.Equal(LlmTaskState.Cancelled, Managers.WaitAll(manager, [ids[0]]).Single().State);
        Assert.False(batch.CancelRequested); // the others are still wanted

        manager.Stop([ids[1], ids[2]]);
        var rest = Managers.WaitAll(manager, [ids[1], ids[2]]);
        Assert.True(batch.CancelRequested);
        Assert.All(rest, t => Assert.Equal((LlmTaskState.Cancelled, "Cancelled"), (t.State, t.ErrorKind)));
        Assert.True(SpinWait.SpinUntil(() => manager.Store.GetBatches(new BatchQuery()).Single().State == LlmBatchState.Cancelled, TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public async Task A_batch_whose_process_died_is_taken_over_by_a_wait_and_collected_from_its_provider_id()
    {
        var fake = new FakeBatchProvider();
        List<long> ids;
        string batchId;
        using (var store = TaskStore.Open(_temp.Path))
        {
            // What a process killed with -9 after sending its batch leaves: the batch at the provider, its row leased to a
            // process that no longer exists, its tasks Running in it.
            var dead = $"{LeaseOwner.Parse(LeaseOwner.ForThisProcess())!.Host}:999999:1:dead";
            ids = new[] { "x", "y" }.Select(p => store.Insert(Batched(p), "openai", dead, 60_000).Id).ToList();
            var row = store.CreateBatch(new NewBatch("openai", "openai/gpt-4o-mini", null), ids, dead, 600_000)!;
            var requests = store.TasksOfBatch(row.Id).Select(t => new BatchRequest(BatchRequest.IdFor(t.Id, 1), t.Request)).ToList();
            var context = new BatchContext(ModelId.Parse("openai/gpt-4o-mini", ["openai"]), new ProviderCallContext(ids[0], requests[0].Request, null), TimeProvider.System);
            var status = await fake.SubmitAsync(context, requests, CancellationToken.None);
            batchId = status.BatchId;
            Assert.NotNull(store.UpdateBatch(row.Id, dead, status, 600_000));
        }

        fake.Sent[batchId].Complete();
        using var next = Managers.Open(_temp.Path, Quick, fake);
        var done = Managers.WaitAll(next, ids);
        Assert.All(done, t => Assert.Equal((LlmTaskState.Completed, 1), (t.State, t.Attempts)));
        Assert.Equal(["answer: x", "answer: y"], done.Select(t => t.Output).Order());
        Assert.Single(fake.Sent); // collected from the id it had, not sent again
        Assert.True(fake.Polls > 0);
    }

    [Fact]
    public void A_batch_handed_back_on_shutdown_is_taken_over_by_a_worker()
    {
        var fake = new FakeBatchProvider();
        List<long> ids;
        using (var first = Managers.Open(_temp.Path, Quick, fake))
        {
            ids = new[] { "x", "y" }.Select(p => first.Start(Batched(p)).Id).ToList();
            fake.WaitForBatches(1);
            Assert.True(SpinWait.SpinUntil(() => first.Store.GetBatches(new BatchQuery()).Single().ProviderBatchId is not null, TimeSpan.FromSeconds(30)));
        }

        fake.Sent.Values.Single().Complete();
        using var next = Managers.Open(_temp.Path, Quick, fake);
        using var worker = next.StartWorker(); // Invoke-LlmTaskWorker: no wait for these tasks
        Assert.True(SpinWait.SpinUntil(() => next.Store.Query(new TaskQuery { Ids = ids }).All(t => t.State == LlmTaskState.Completed), TimeSpan.FromSeconds(30)));
        Assert.Single(fake.Sent);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_handed_back_re_ask_of_a_batch_task_is_claimed_by_a_worker(bool byName)
    {
        // What a process leaves when it exits after a batch answer failed its checks and before the re-ask was sent: the
        // task Pending again, no lease, still naming the batch it was answered in.
        var fake = new FakeBatchProvider();
        long id;
        using (var first = Managers.Open(_temp.Path, Quick, fake))
        {
            id = first.Start(Batched("x") with { Name = "reask" }).Id;
            fake.WaitForBatches(1).Single().Complete();
            Assert.NotNull(Managers.WaitAll(first, [id]).Single().BatchId);
        }

        _temp.Sql("UPDATE tasks SET state = 'Pending', completed_at = NULL, lease_owner = NULL, lease_expires_at = NULL WHERE id = $id", ("$id", id));
        using var next = Managers.Open(_temp.Path, Quick, fake);
        using var worker = byName ? next.StartWorker(names: ["reask"]) : next.StartWorker();
        fake.WaitForBatches(2).Single(b => b.Requests.Single().CustomId == $"task-{id}-2").Complete();
        Assert.True(SpinWait.SpinUntil(() => next.Store.Get(id)!.State == LlmTaskState.Completed, TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public void A_batch_handed_back_on_shutdown_is_polled_by_the_next_process()
    {
        var fake = new FakeBatchProvider();
        List<long> ids;
        using (var first = Managers.Open(_temp.Path, Quick, fake))
        {
            ids = new[] { "x", "y" }.Select(p => first.Start(Batched(p)).Id).ToList();
            fake.WaitForBatches(1);
            SpinWait.SpinUntil(() => first.Store.GetBatches(new BatchQuery()).Single().ProviderBatchId is not null, TimeSpan.FromSeconds(30));
        }

        using (var store = TaskStore.Open(_temp.Path))
        {
            var row = store.GetBatches(new BatchQuery()).Single();
            Assert.Equal((LlmBatchState.InProgress, (string?)null), (row.State, row.Owner)); // handed back, still at the provider
            Assert.All(store.Query(new TaskQuery { Ids = ids }), t => Assert.Equal(LlmTaskState.Running, t.State));
        }

        fake.Sent.Values.Single().Complete();
        using var second = Managers.Open(_temp.Path, Quick, fake);
        Assert.All(Managers.WaitAll(second, ids), t => Assert.Equal(LlmTaskState.Completed, t.State));
        Assert.Single(fake.Sent);
    }

    [Fact]
    public void Repair_carries_the_batches_and_the_tasks_batch_ids_so_a_batch_at_the_provider_is_collected_from_the_new_store()
    {
        var fake = new FakeBatchProvider();
        List<long> ids;
        LlmBatch sent;
        using (var first = Managers.Open(_temp.Path, Quick, fake))
        {
            var done = first.Start(Batched("done")).Id;
            fake.WaitForBatches(1).Single().Complete();
            Managers.WaitAll(first, [done]);
            ids = new[] { "x", "y" }.Select(p => first.Start(Batched(p)).Id).ToList();
            fake.WaitForBatches(2);
            Assert.True(SpinWait.SpinUntil(() => first.Store.GetBatches(new BatchQuery { TaskIds = ids }).SingleOrDefault()?.ProviderBatchId is not null, TimeSpan.FromSeconds(30)));
            sent = first.Store.GetBatches(new BatchQuery { TaskIds = ids }).Single();
        } // handed back: the batch is at the provider, its tasks Running in it

        using var target = new TempStore(kind);
        var destination = kind == StoreKind.Sqlite ? Path.Combine(target.Folder, "repaired.db") : target.Path;
        var result = StoreRecovery.Recover(_temp.Path, destination);
        Assert.Equal((3, 0, 2, 0), (result.TasksRecovered, result.TasksLost, result.BatchesRecovered, result.BatchesLost));
        using (var repaired = TaskStore.Open(destination))
        {
            var copied = repaired.GetBatches(new BatchQuery()).Single(b => b.Id == sent.Id);
            Assert.Equal((sent.ProviderBatchId, sent.State, sent.RequestCount, sent.Provider, sent.Model), (copied.ProviderBatchId, copied.State, copied.RequestCount, copied.Provider, copied.Model));
            Assert.All(repaired.Query(new TaskQuery { Ids = ids }), t => Assert.Equal((LlmTaskState.Running, (long?)sent.Id), (t.State, t.BatchId)));
        }

        fake.Sent[sent.ProviderBatchId!].Complete();
        using var next = Managers.Open(destination, Quick, fake);
        Assert.All(Managers.WaitAll(next, ids), t => Assert.Equal((LlmTaskState.Completed, 1, (long?)sent.Id), (t.State, t.Attempts, t.BatchId)));
        Assert.Equal(2, fake.Sent.Count); // collected from its provider id, not sent again
        var later = next.Start(Batched("later")).Id;
        fake.WaitForBatches(3);
        Assert.True(SpinWait.SpinUntil(() => next.Store.Get(later)?.BatchId is not null, TimeSpan.FromSeconds(30)));
        Assert.True(next.Store.Get(later)!.BatchId > sent.Id); // the batch id counter is past the copied ids
    }

    [Fact]
    public void A_provider_without_a_batch_API_is_refused_before_anything_is_stored()
    {
        using var manager = Managers.Open(_temp.Path, Quick, new ScriptedProvider());
        var error = Assert.Throws<LlmTasksException>(() => manager.Start(Batched("hi", "test/x")));
        Assert.Equal((ErrorIds.BatchNotSupported, LlmErrorCategory.InvalidArgument), (error.ErrorId, error.Category));
        Assert.Empty(manager.Store.Query(TaskQuery.All));
    }

    [Fact]
    public void Batch_answers_that_fail_their_checks_are_re_asked_in_a_new_batch_with_the_answer_and_the_feedback_until_they_pass()
    {
        var fake = new FakeBatchProvider();
        using var manager = Managers.Open(_temp.Path, Quick, fake);
        var plan = new LlmTasks.Verification.VerificationPlan
        {
            // The fake answers "answer: <last user message>": the first answer lacks the words, the answer to the feedback has them.
            Checks = [new LlmTasks.Verification.CheckSpec { Type = "Contains", Text = ["failed verification"] }],
            MaxAttempts = 3,
        };
        var ids = new[] { "x", "y" }.Select(p => manager.Start(Batched(p) with { Verification = plan }).Id).ToList();
        fake.WaitForBatches(1).Single().Complete(); // "answer: x" fails the check: both are re-asked

        var second = fake.WaitForBatches(2).Single(b => b.Requests.All(r => r.CustomId.EndsWith("-2", StringComparison.Ordinal)));
        Assert.Equal(2, second.Requests.Count);
        var messages = second.Requests.First().Request.Messages;
        Assert.Equal([LlmRole.User, LlmRole.Assistant, LlmRole.User], messages.Select(m => m.Role));
        Assert.StartsWith("answer: ", messages[1].Content);
        Assert.Contains("Attempt 1 of 3 failed verification", messages[2].Content);
        second.Complete();

        var done = Managers.WaitAll(manager, ids);
        Assert.All(done, t => Assert.Equal((LlmTaskState.Completed, 2), (t.State, t.Attempts)));
        Assert.All(done, t => Assert.Contains("failed verification", t.Output));
        Assert.Equal(2, fake.Sent.Count);
        Assert.All(ids, id =>
        {
            var attempts = manager.Store.GetAttempts(id);
            Assert.Equal(("VerificationFailed", LlmAttemptOutcome.Succeeded), (attempts[0].ErrorKind, attempts[1].Outcome));
            Assert.Contains("\"reasked\":true", attempts[0].DetailsJson);
            Assert.Equal([false, true], manager.Store.GetChecks([id])[id].Select(c => c.Passed));
        });
    }

    private static readonly LlmTasks.Verification.VerificationPlan LiveReaskPlan = new()
    {
        // The batch answers "answer: <last user message>", which lacks the words; the live answer to the feedback has them.
        Checks = [new LlmTasks.Verification.CheckSpec { Type = "Contains", Text = ["failed verification"] }],
        MaxAttempts = 3,
        LiveReask = true,
    };

    [Fact]
    public void With_LiveReask_batch_answers_that_fail_their_checks_are_re_asked_live_with_the_answer_and_the_feedback_at_the_live_price()
    {
        var fake = new FakeBatchProvider { AnswersLive = true };
        using var manager = Managers.Open(_temp.Path, Quick, fake);
        var ids = new[] { "x", "y" }.Select(p => manager.Start(Batched(p) with { Verification = LiveReaskPlan }).Id).ToList();
        fake.WaitForBatches(1).Single().Complete();

        var done = Managers.WaitAll(manager, ids);
        Assert.All(done, t => Assert.Equal((LlmTaskState.Completed, 2), (t.State, t.Attempts)));
        Assert.All(done, t => Assert.StartsWith("live answer: ", t.Output));
        Assert.Single(fake.Sent); // no second batch
        Assert.Equal(2, fake.LiveCalls.Count);
        Assert.All(fake.LiveCalls, messages =>
        {
            Assert.Equal([Microsoft.Extensions.AI.ChatRole.User, Microsoft.Extensions.AI.ChatRole.Assistant, Microsoft.Extensions.AI.ChatRole.User], messages.Select(m => m.Role));
            Assert.StartsWith("answer: ", messages[1].Text);
            Assert.Contains("Attempt 1 of 3 failed verification", messages[2].Text);
        });
        var model = ModelId.Parse("openai/gpt-4o-mini", ["openai"]);
        Assert.All(ids, id =>
        {
            var attempts = manager.Store.GetAttempts(id);
            Assert.Equal(("VerificationFailed", LlmAttemptOutcome.Succeeded), (attempts[0].ErrorKind, attempts[1].Outcome));
            Assert.Equal(ModelPrices.Cost(model, 1000, 500, batch: true), attempts[0].CostUsd);
            Assert.Equal(ModelPrices.Cost(model, 1000, 500), attempts[1].CostUsd); // the re-ask was a live call
            Assert.Equal(3, attempts[1].Messages.Count); // its row keeps the conversation it sent
            Assert.Equal([false, true], manager.Store.GetChecks([id])[id].Select(c => c.Passed));
        });
    }

    [Fact]
    public void LiveReask_is_stored_with_the_task_so_a_process_that_takes_the_batch_over_re_asks_live_too()
    {
        var fake = new FakeBatchProvider { AnswersLive = true };
        List<long> ids;
        using (var first = Managers.Open(_temp.Path, Quick, fake))
        {
            ids = new[] { "x", "y" }.Select(p => first.Start(Batched(p) with { Verification = LiveReaskPlan }).Id).ToList();
            fake.WaitForBatches(1);
            SpinWait.SpinUntil(() => first.Store.GetBatches(new BatchQuery()).Single().ProviderBatchId is not null, TimeSpan.FromSeconds(30));
        }

        // The process that sent the batch is gone; the next one collects it and, as the stored tasks say, re-asks live.
        fake.Sent.Values.Single().Complete();
        using var second = Managers.Open(_temp.Path, Quick, fake);
        var done = Managers.WaitAll(second, ids);
        Assert.All(done, t => Assert.Equal((LlmTaskState.Completed, 2), (t.State, t.Attempts)));
        Assert.Single(fake.Sent);
        Assert.Equal(2, fake.LiveCalls.Count);
    }

    [Fact]
    public void Without_LiveReask_no_live_call_is_made_for_a_re_ask()
    {
        var fake = new FakeBatchProvider { AnswersLive = true };
        using var manager = Managers.Open(_temp.Path, Quick, fake);
        var id = manager.Start(Batched("x") with { Verification = LiveReaskPlan with { LiveReask = false } }).Id;
        fake.WaitForBatches(1).Single().Complete();
        fake.WaitForBatches(2).Single(b => b.Requests.Single().CustomId.EndsWith("-2", StringComparison.Ordinal)).Complete();
        Assert.Equal((LlmTaskState.Completed, 2), Managers.WaitAll(manager, [id]).Select(t => (t.State, t.Attempts)).Single());
        Assert.Empty(fake.LiveCalls);
    }

    [Fact]
    public void A_restarted_batch_task_gets_all_its_attempts_again()
    {
        // The series counts from the restart, as a live run's does: a restarted task that had used its attempts is re-asked again.
        var fake = new FakeBatchProvider();
        using var manager = Managers.Open(_temp.Path, Quick, fake);
        var plan = new LlmTasks.Verification.VerificationPlan
        {
            Checks = [new LlmTasks.Verification.CheckSpec { Type = "Contains", Text = ["failed verification"] }],
            MaxAttempts = 2,
        };
        var id = manager.Start(Batched("x") with { Verification = plan }).Id;
        fake.WaitForBatches(1).Single().Expire(answered: 0);
        Assert.Equal("BatchExpired", Managers.WaitAll(manager, [id]).Single().ErrorKind);

        manager.Restart([id]);
        fake.WaitForBatches(2).Single(b => b.Requests.Single().CustomId.EndsWith("-2", StringComparison.Ordinal)).Complete();
        var reask = fake.WaitForBatches(3).Single(b => b.Requests.Single().CustomId.EndsWith("-3", StringComparison.Ordinal));
        Assert.Contains("Attempt 1 of 2 failed verification", reask.Requests.Single().Request.Messages[^1].Content);
        reask.Complete();
        Assert.Equal((LlmTaskState.Completed, 3), Managers.WaitAll(manager, [id]).Select(t => (t.State, t.Attempts)).Single());
    }

    [Fact]
    public void A_batch_answer_that_fails_its_checks_on_the_last_attempt_needs_review()
    {
        var fake = new FakeBatchProvider();
        using var manager = Managers.Open(_temp.Path, Quick, fake);
        var plan = new LlmTasks.Verification.VerificationPlan
        {
            Checks = [new LlmTasks.Verification.CheckSpec { Type = "Contains", Text = ["never said"] }],
            MaxAttempts = 1,
            ReviewAfterAttempts = 1,
        };
        var id = manager.Start(Batched("x") with { Verification = plan }).Id;
        fake.WaitForBatches(1).Single().Complete();
        var done = Managers.WaitAll(manager, [id]).Single();
        Assert.Equal((LlmTaskState.NeedsReview, "answer: x", 1), (done.State, done.Output, done.Attempts));
        Assert.Single(fake.Sent);
        Assert.False(manager.Store.GetChecks([id])[id].Single().Passed);
    }

    [Fact]
    public void ModelPrices_batch_cost_is_half_the_live_cost()
    {
        var model = ModelId.Parse("anthropic/claude-sonnet-4-5", ["anthropic"]);
        Assert.Equal(ModelPrices.Cost(model, 1234, 567)! / 2, ModelPrices.Cost(model, 1234, 567, batch: true));
        Assert.Equal(ModelPrices.Cost(model, 1234, 567), ModelPrices.Cost(model, 1234, 567, batch: false));
        Assert.Null(ModelPrices.Cost(ModelId.Parse("mock/echo", ["mock"]), 10, 10, batch: true));
    }
}

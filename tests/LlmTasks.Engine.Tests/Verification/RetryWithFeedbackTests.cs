using LlmTasks.Providers;
using LlmTasks.Tests.Doubles;
using LlmTasks.Verification;
using Microsoft.Extensions.AI;

namespace LlmTasks.Tests.Verification;

public sealed class RetryWithFeedbackTests : IDisposable
{
    private readonly TempStore _temp = new();

    public void Dispose() => _temp.Dispose();

    private static LlmTaskRequest ThreeWords(int maxAttempts, int? reviewAfter = null) => new()
    {
        Model = "rec/model",
        Messages = [new LlmMessage(LlmRole.System, "You are terse."), new LlmMessage(LlmRole.User, "Generate exactly 3 random words")],
        Verification = new VerificationPlan
        {
            Checks = [new CheckSpec { Type = "NotEmpty" }, new CheckSpec { Type = "Length", Min = 3, Max = 3, Words = true }, new CheckSpec { Type = "NotContains", Text = ["sorry"] }],
            MaxAttempts = maxAttempts,
            ReviewAfterAttempts = reviewAfter,
        },
    };

    [Fact]
    public void Two_failed_answers_are_re_asked_with_the_whole_conversation_and_the_third_passes()
    {
        var provider = new RecordingProvider("sorry apple", "apple river cloud stone", "apple river cloud");
        using var manager = Managers.Open(_temp.Path, provider);
        var task = manager.Start(ThreeWords(3));
        var done = Managers.WaitAll(manager, [task.Id]).Single();

        Assert.Equal(LlmTaskState.Completed, done.State);
        Assert.Equal("apple river cloud", done.Output);
        Assert.Equal(3, done.Attempts);
        var calls = provider.Calls.ToArray();
        Assert.Equal(3, calls.Length);
        Assert.Equal(2, calls[0].Count);

        // The third call holds the original messages, every failed output and every reason.
        var third = calls[2];
        Assert.Equal((ChatRole.System, "You are terse."), third[0]);
        Assert.Equal((ChatRole.User, "Generate exactly 3 random words"), third[1]);
        Assert.Equal((ChatRole.Assistant, "sorry apple"), third[2]);
        Assert.Equal(ChatRole.User, third[3].Role);
        Assert.Contains("Attempt 1 of 3 failed", third[3].Text);
        Assert.Contains("has 2 words; it must have exactly 3", third[3].Text);
        Assert.Contains("contains 'sorry'", third[3].Text);
        Assert.Contains("Suggestion:", third[3].Text);
        Assert.EndsWith("Generate exactly 3 random words", third[3].Text);
        Assert.Equal((ChatRole.Assistant, "apple river cloud stone"), third[4]);
        Assert.Contains("Attempt 2 of 3 failed", third[5].Text);
        Assert.Contains("has 4 words", third[5].Text);
        Assert.DoesNotContain("contains 'sorry'", third[5].Text);
        Assert.Equal(6, third.Count);

        var attempts = manager.Store.GetAttempts(task.Id);
        Assert.Equal([LlmAttemptOutcome.Failed, LlmAttemptOutcome.Failed, LlmAttemptOutcome.Succeeded], attempts.Select(a => a.Outcome));
        Assert.Equal("VerificationFailed", attempts[0].ErrorKind);
        Assert.Contains("Attempt 2 of 3 failed", attempts[2].RequestJson);

        var checks = manager.Store.GetChecks([task.Id])[task.Id];
        Assert.Equal(9, checks.Count);
        Assert.Equal([1, 1, 1, 2, 2, 2, 3, 3, 3], checks.Select(c => c.Attempt!.Value));
        Assert.Equal([true, false, false, true, false, true, true, true, true], checks.Select(c => c.Passed));
    }

    [Fact]
    public void Answers_that_never_pass_end_in_NeedsReview_with_the_last_output_and_the_reasons_then_restart_and_approve()
    {
        var provider = new RecordingProvider("one", "one two");
        using var manager = Managers.Open(_temp.Path, provider);
        var task = manager.Start(ThreeWords(2));
        var done = Managers.WaitAll(manager, [task.Id]).Single();

        Assert.Equal(LlmTaskState.NeedsReview, done.State);
        Assert.Equal("one two", done.Output);
        Assert.Equal(2, done.Attempts);
        Assert.Equal("VerificationFailed", done.ErrorKind);
        Assert.Contains("Length: The output has 2 words", done.Error);

        provider.Answers = ["red green blue"];
        var restarted = Assert.Single(manager.Restart([task.Id]));
        Assert.Equal(LlmTaskState.Pending, restarted.State);
        var again = Managers.WaitAll(manager, [task.Id]).Single();
        Assert.Equal(LlmTaskState.Completed, again.State);
        Assert.Equal(3, again.Attempts); // a new series: one more call, earlier attempts kept
        Assert.Equal(2, provider.Calls.Last().Count); // the new series starts from the original messages

        Assert.Empty(manager.Store.Approve([task.Id], "ada", "fine")); // only NeedsReview tasks
    }

    [Fact]
    public void ReviewAfterAttempts_stops_early_and_a_plan_without_review_ends_Failed()
    {
        var provider = new RecordingProvider("one");
        using var manager = Managers.Open(_temp.Path, provider);
        var review = manager.Start(ThreeWords(5, reviewAfter: 2));
        var fail = manager.Start(ThreeWords(2, reviewAfter: 9));
        var done = Managers.WaitAll(manager, [review.Id, fail.Id]).ToDictionary(t => t.Id);
        Assert.Equal(LlmTaskState.NeedsReview, done[review.Id].State);
        Assert.Equal(2, done[review.Id].Attempts);
        Assert.Equal(LlmTaskState.Failed, done[fail.Id].State);
        Assert.Contains("Verification failed after 2 attempt(s)", done[fail.Id].Error);

        var approved = Assert.Single(manager.Store.Approve([review.Id], "ada", "three is close enough"));
        Assert.Equal(LlmTaskState.Completed, approved.State);
        Assert.Equal("one", approved.Output);
        var note = manager.Store.GetChecks([review.Id])[review.Id].Last();
        Assert.Equal("Approval", note.Type);
        Assert.Equal("Approved by ada: three is close enough", note.Reason);
    }

    [Fact]
    public void The_tool_and_hint_are_added_from_attempt_K_plus_1()
    {
        var provider = new RecordingProvider("x", "y", "a b c");
        using var manager = Managers.Open(_temp.Path, provider);
        var request = ThreeWords(3) with
        {
            Verification = ThreeWords(3).Verification! with
            {
                ToolAfterAttempts = 1,
                ToolOptions = new ProviderOptions { McpConfigJson = "{\"mcpServers\":{}}" },
                ToolHint = "Use the dictionary tool.",
            },
        };
        var task = manager.Start(request);
        Assert.Equal(LlmTaskState.Completed, Managers.WaitAll(manager, [task.Id]).Single().State);
        var options = provider.Options.ToArray();
        Assert.Null(options[0]);
        Assert.Equal("{\"mcpServers\":{}}", options[1]!.McpConfigJson);
        Assert.NotNull(options[2]);
        Assert.Contains("Hint: Use the dictionary tool.", provider.Calls.ToArray()[1][3].Text);
    }

    [Fact]
    public void A_judge_call_is_an_attempt_of_its_own_and_a_bad_spec_is_refused_before_anything_is_stored()
    {
        var provider = new RecordingProvider("4");
        using var manager = Managers.Open(_temp.Path, provider);
        var task = manager.Start(new LlmTaskRequest
        {
            Model = "rec/m",
            Messages = [new LlmMessage(LlmRole.User, "2+2?")],
            Verification = new VerificationPlan { Checks = [new CheckSpec { Type = "Judge", Model = "mock/echo", Criteria = "correct", MockResponse = """{"passed":true,"reasoning":"right"}""" }] },
        });
        var done = Managers.WaitAll(manager, [task.Id]).Single();
        Assert.Equal(LlmTaskState.Completed, done.State);
        Assert.Equal(2, done.Attempts);
        var attempts = manager.Store.GetAttempts(task.Id);
        Assert.Contains("\"judge\":true", attempts[0].DetailsJson);
        Assert.True(attempts[0].InputTokens > 0);

        var error = Assert.Throws<LlmTasksException>(() => manager.Start(ThreeWords(2) with
        {
            Verification = new VerificationPlan { Checks = [new CheckSpec { Type = "Regex", Pattern = "([" }] },
        }));
        Assert.Equal(ErrorIds.InvalidVerification, error.ErrorId);
        Assert.Single(manager.Store.Query(LlmTasks.Storage.TaskQuery.All));
        Assert.Single(provider.Calls);
    }

    [Fact]
    public void A_script_check_read_back_from_the_store_runs_when_signed_and_is_not_run_when_edited_in_the_store()
    {
        var provider = new RecordingProvider("one");
        using var manager = Managers.Open(_temp.Path, provider);
        var request = ThreeWords(3) with
        {
            Verification = new VerificationPlan { Checks = [new CheckSpec { Type = "Script", Script = "param($Output) $true", ScriptTrusted = true }], MaxAttempts = 3 },
        };
        var task = manager.Start(request);
        var done = Managers.WaitAll(manager, [task.Id]).Single();
        Assert.Equal(LlmTaskState.NeedsReview, done.State); // no script runner in the bare engine: unavailable, no re-ask
        Assert.Equal(1, done.Attempts);

        // Read back with the user's signature: the block is the user's own, so it passes the gate (and meets the missing runner).
        manager.Restart([task.Id]);
        var again = Managers.WaitAll(manager, [task.Id]).Single();
        Assert.Contains("run only inside the LlmTasks PowerShell module", again.Error);

        // Changed in the store (as sqlite3 would): no longer signed, so it is not run without the opt-in.
        using (var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={_temp.Path};Pooling=False"))
        {
            connection.Open();
            using var edit = connection.CreateCommand();
            edit.CommandText = "UPDATE tasks SET request_json = replace(request_json, '$true', 'Remove-Item ~ -Recurse; $true') WHERE id = $id";
            edit.Parameters.AddWithValue("$id", task.Id);
            Assert.Equal(1, edit.ExecuteNonQuery());
        }

        manager.Restart([task.Id]);
        var edited = Managers.WaitAll(manager, [task.Id]).Single();
        Assert.Equal(LlmTaskState.NeedsReview, edited.State);
        Assert.Contains("read from the store without this user's signature and is not run here", edited.Error);
    }
}

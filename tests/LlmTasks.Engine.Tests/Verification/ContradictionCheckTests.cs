using System.Text.Json;
using LlmTasks.Providers;
using LlmTasks.Storage;
using LlmTasks.Verification;
using LlmTasks.Verification.Checks;
using static LlmTasks.Tests.Verification.CheckRunner;

namespace LlmTasks.Tests.Verification;

public sealed class ContradictionCheckTests
{
    private static CheckSpec Contradiction(string verdict, string? reference = null) =>
        new() { Type = "Contradiction", Model = "mock/echo", MockResponse = verdict, Reference = reference };

    [Fact]
    public void No_contradiction_passes()
    {
        Passes("Paris is the capital of France.", Contradiction("""{"passed": true, "contradictions": [], "reasoning": "consistent"}"""));
    }

    [Fact]
    public void Each_contradiction_found_is_in_the_reason_and_the_details()
    {
        const string verdict = """
            {"passed": false, "reasoning": "two problems",
             "contradictions": [
               {"claim": "The meeting is on Monday", "conflictsWith": "see you Tuesday at the meeting", "explanation": "two different days"},
               {"claim": "3 + 4 = 8", "conflictsWith": "3 + 4 = 7", "explanation": "the sum is 7"}]}
            """;
        var result = Fails("The meeting is on Monday. See you Tuesday at the meeting. 3 + 4 = 8.", Contradiction(verdict));
        Assert.Contains("found 2 contradiction(s)", result.Reason);
        Assert.Contains("1. \"The meeting is on Monday\" contradicts \"see you Tuesday at the meeting\": two different days", result.Reason);
        Assert.Contains("2. \"3 + 4 = 8\"", result.Reason);
        var details = JsonDocument.Parse(result.Details!).RootElement;
        Assert.Equal(2, details.GetProperty("contradictions").GetArrayLength());
        Assert.Equal("mock/echo", details.GetProperty("model").GetString());
    }

    [Fact]
    public void A_listed_contradiction_fails_even_when_passed_says_true()
    {
        Fails("x", Contradiction("""{"passed": true, "contradictions": [{"claim": "a", "conflictsWith": "b", "explanation": "c"}], "reasoning": ""}"""));
    }

    [Fact]
    public void An_unusable_verdict_fails()
    {
        Assert.Contains("no usable contradiction verdict", Fails("x", Contradiction("I see no problems")).Reason);
        Assert.Contains("no boolean 'passed'", Fails("x", Contradiction("""{"contradictions": []}""")).Reason);
    }

    [Fact]
    public void The_fixed_prompt_carries_the_answer_and_the_reference()
    {
        var prompt = ContradictionCheck.BuildPrompt("The answer text.", "The reference text.");
        Assert.Contains("<<<\nThe answer text.\n>>>", prompt.ReplaceLineEndings("\n"));
        Assert.Contains("<<<\nThe reference text.\n>>>", prompt.ReplaceLineEndings("\n"));
        Assert.Contains("contradicts the reference text", prompt);
        Assert.DoesNotContain("reference", ContradictionCheck.BuildPrompt("The answer text.", null), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task The_judge_call_goes_to_the_provider_with_the_prompt_and_is_recorded_like_Judge_s()
    {
        // mock/echo answers with the last user message: the fixed prompt, which is no verdict, so the
        // check fails, and the call is recorded as an InvalidJudgeVerdict attempt with the prompt sent.
        var recorded = new List<AttemptRecord>();
        var verifier = new Verifier([new CheckSpec { Type = "Contradiction", Model = "mock/echo", Reference = "Water boils at 100 C." }], ProviderRegistry.CreateDefault(), new VerificationServices());
        var environment = new VerificationEnvironment(ProviderRegistry.CreateDefault(), new VerificationServices())
        {
            RecordJudgeCall = a =>
            {
                recorded.Add(a);
                return Task.CompletedTask;
            },
        };
        var result = await verifier.VerifyAsync("Water boils at 50 C.", "When does water boil?", null, false, environment, CancellationToken.None);
        Assert.False(result.Passed);
        var attempt = Assert.Single(recorded);
        Assert.Equal("InvalidJudgeVerdict", attempt.ErrorKind);
        Assert.Contains("Water boils at 50 C.", attempt.Output);
        Assert.Contains("Water boils at 100 C.", attempt.RequestJson);
        Assert.Contains("\"judge\":true", attempt.DetailsJson);
        Assert.True(verifier.HasJudge);
    }

    [Fact]
    public void Model_is_required_and_must_resolve()
    {
        Assert.Contains("needs Model", SpecError(new CheckSpec { Type = "Contradiction" }).Message);
        Assert.Contains("Model is not usable", SpecError(new CheckSpec { Type = "Contradiction", Model = "nope/x" }).Message);
        Assert.Contains("Reference is empty", SpecError(new CheckSpec { Type = "Contradiction", Model = "mock/echo", Reference = " " }).Message);
    }
}

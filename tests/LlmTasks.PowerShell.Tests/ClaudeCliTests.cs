using LlmTasks.Tests.ClaudeCode;
using F = LlmTasks.Tests.ClaudeCode.FakeAnthropicServer;

namespace LlmTasks.PowerShell.Tests;

/// <summary>
/// These tests change the process environment (the CLI inherits it, as from a user's shell), so
/// they run alone, after the parallel tests.
/// </summary>
[CollectionDefinition(nameof(ProcessEnvironment), DisableParallelization = true)]
public sealed class ProcessEnvironment;

/// <summary>
/// Start-LlmTask -Model max/… in the hosted PowerShell, running the REAL Claude Code CLI found through
/// $env:LLMTASKS_CLAUDE_PATH, which talks to a loopback fake Messages endpoint set with
/// $env:ANTHROPIC_BASE_URL, exactly as a user's shell would pass them on.
/// </summary>
[Collection(nameof(ProcessEnvironment))]
public sealed class ClaudeCliTests : IDisposable
{
    private static readonly string[] Variables =
    [
        "LLMTASKS_CLAUDE_PATH", "HOME", "TMPDIR", "ANTHROPIC_BASE_URL", "ANTHROPIC_API_KEY", "CLAUDE_CODE_OAUTH_TOKEN",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "IS_SANDBOX", "CLAUDE_CODE_MAX_RETRIES",
    ];

    private readonly Dictionary<string, string?> _saved = Variables.ToDictionary(v => v, Environment.GetEnvironmentVariable);
    private readonly PowerShellSession _ps = new();

    private void UseCli(F server)
    {
        var cli = RealClaude.Require();
        foreach (var (name, value) in RealClaude.Environment(_ps.Folder))
        {
            Environment.SetEnvironmentVariable(name, value);
        }

        Environment.SetEnvironmentVariable("LLMTASKS_CLAUDE_PATH", cli);
        Environment.SetEnvironmentVariable("ANTHROPIC_BASE_URL", server.BaseUrl);
        // A key in the user's shell must not reach the CLI: max/ is the subscription route.
        Environment.SetEnvironmentVariable("ANTHROPIC_API_KEY", "sk-ant-must-not-be-sent");
        Environment.SetEnvironmentVariable("CLAUDE_CODE_MAX_RETRIES", "7");
    }

    [SkippableFact]
    public void A_simple_question_completes_with_the_endpoints_answer_and_its_attempt_shows_usage_and_cost()
    {
        using var server = new F(new F.Text("4"));
        UseCli(server);

        var result = _ps.Run("""
            $t = Start-LlmTask -Model max/sonnet -Prompt 'What is 2+2?' -Wait
            $t.State.ToString(); $t.Output; $t.ErrorKind
            $a = $t | Get-LlmTaskAttempt
            $a.Outcome.ToString(); ($a.CostUsd -gt 0); ($a.InputTokens -gt 0); $a.DetailsJson
            """).Ok();

        Assert.True("Completed" == result.Output[0]?.ToString(), "task: " + string.Join(" | ", result.Output));
        Assert.Equal("4", result.Output[1]?.ToString());
        Assert.Equal("Succeeded", result.Output[3].ToString());
        Assert.Equal([true, true], new[] { (bool)result.Output[4].BaseObject, (bool)result.Output[5].BaseObject });
        Assert.Contains("\"terminal_reason\":\"completed\"", result.Output[6].ToString());
        Assert.Equal("Bearer test-oauth-token", server.Authorizations.Single());
        Assert.Contains(("user", "What is 2+2?"), server.Messages(0));
    }

    [SkippableFact]
    public void Json_schema_output_is_received_as_an_object()
    {
        using var server = new F(new F.ToolUse("StructuredOutput", """{"answer":4,"unit":"apples"}"""));
        UseCli(server);

        var result = _ps.Run("""
            $schema = @{ type = 'object'; properties = @{ answer = @{ type = 'integer' }; unit = @{ type = 'string' } }; required = @('answer') }
            $o = Start-LlmTask -Model max/sonnet -Prompt 'How many apples?' -JsonSchema $schema -Wait | Receive-LlmTask
            $o.answer; $o.unit
            """).Ok();

        Assert.Equal(4L, Convert.ToInt64(result.Output[0].BaseObject));
        Assert.Equal("apples", result.Output[1].ToString());
    }

    [SkippableFact]
    public void An_overloaded_api_is_tried_again_and_the_failed_try_is_shown_by_Get_LlmTaskAttempt()
    {
        using var server = new F(new F.Error(529, "overloaded_error", "Overloaded"));
        UseCli(server);

        var result = _ps.Run("""
            $t = Start-LlmTask -Model max/sonnet -Prompt 'Hi' -Wait
            $t.State.ToString(); $t.Attempts
            $first = (Get-LlmTaskAttempt -Id $t.Id)[0]
            $first.Outcome.ToString(); $first.ErrorKind; $first.Error
            """).Ok();

        Assert.Equal(["Completed", "2", "Failed", "Overloaded"], result.Output.Take(4).Select(o => o.ToString()));
        Assert.Contains("529", result.Output[4].ToString());
        Assert.Equal(2, server.Requests.Count); // the CLI did not retry on its own: the engine did, once
    }

    public void Dispose()
    {
        _ps.Dispose();
        foreach (var (name, value) in _saved)
        {
            Environment.SetEnvironmentVariable(name, value);
        }
    }
}

using LlmTasks.Tests.ClaudeCode;
using LlmTasks.Tests.Http;
using F = LlmTasks.Tests.ClaudeCode.FakeAnthropicServer;

namespace LlmTasks.PowerShell.Tests;

/// <summary>
/// The seed's eight cases (examples/seed-cases.ps1) in live mode against loopback endpoints: an
/// OpenAI-compatible server (lmstudio/ prefix) for cases 1-4 and 6-8, and the REAL Claude Code CLI
/// with the real filesystem MCP server for case 5. Process environment: runs alone.
/// </summary>
[Collection(nameof(ProcessEnvironment))]
public sealed class SeedCasesLiveTests : IDisposable
{
    private static readonly string[] Variables =
    [
        "LLMTASKS_SEED_LIVE", "LLMTASKS_DEFAULT_MODEL", "LLMTASKS_MAX_MODEL", "LLMTASKS_OPENAI_COMPAT_MODEL", "LLMTASKS_SEED_MCP_SERVER",
        "LMSTUDIO_BASE_URL", "LLMTASKS_CLAUDE_PATH", "HOME", "TMPDIR", "ANTHROPIC_BASE_URL", "ANTHROPIC_API_KEY", "CLAUDE_CODE_OAUTH_TOKEN",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "IS_SANDBOX", "CLAUDE_CODE_MAX_RETRIES",
    ];

    private readonly Dictionary<string, string?> _saved = Variables.ToDictionary(v => v, Environment.GetEnvironmentVariable);
    private readonly PowerShellSession _ps = new();

    [SkippableFact]
    public void All_eight_cases_complete_against_loopback_endpoints_with_the_real_cli_and_mcp_server()
    {
        var cli = RealClaude.Require(filesystemServer: true);
        var work = Path.Combine(_ps.Folder, "seed-work");
        var file = Path.Combine(work, "hello.txt");
        var verdict = """{"passed": true, "reasoning": "Add-Numbers returns the sum."}""";
        using var openai = new LoopbackServer().Script(
            Reply.Json(200, RecordedResponses.OpenAIChat("Paris is the capital of France.")),        // 1
            Reply.Json(200, RecordedResponses.OpenAIChat("Your name is Ada.")),                       // 2
            Reply.Json(200, RecordedResponses.OpenAIChat("Bonjour.")),                                // 3
            Reply.Json(200, RecordedResponses.OpenAIChat("```powershell\nfunction Add-Numbers($a, $b) { $a + $b }\n```")), // 4
            Reply.Json(200, RecordedResponses.OpenAIChat(verdict)),                                   // 4: the judge
            Reply.Json(200, RecordedResponses.OpenAIChat("""{"name": "Ada", "age": 36, "city": "London"}""")), // 6
            Reply.Json(200, RecordedResponses.OpenAIChat("2 + 2 = 4")),                               // 7
            Reply.Json(200, RecordedResponses.OpenAIChat("Here are three words: apple, river, cloud")), // 8, attempt 1
            Reply.Json(200, RecordedResponses.OpenAIChat("apple river cloud stone")),                 // 8, attempt 2
            Reply.Json(200, RecordedResponses.OpenAIChat("apple river cloud")));                      // 8, attempt 3
        using var anthropic = new F(
            new F.ToolUse("mcp__filesystem__write_file", $$"""{"path":{{System.Text.Json.JsonSerializer.Serialize(file)}},"content":"hello from mcp"}"""),
            new F.ToolUse("mcp__filesystem__read_file", $$"""{"path":{{System.Text.Json.JsonSerializer.Serialize(file)}}}"""),
            new F.Text("The file contains: hello from mcp"));

        foreach (var (name, value) in RealClaude.Environment(_ps.Folder))
        {
            Environment.SetEnvironmentVariable(name, value);
        }

        Environment.SetEnvironmentVariable("LLMTASKS_CLAUDE_PATH", cli);
        Environment.SetEnvironmentVariable("ANTHROPIC_BASE_URL", anthropic.BaseUrl);
        Environment.SetEnvironmentVariable("LLMTASKS_SEED_LIVE", "1");
        Environment.SetEnvironmentVariable("LLMTASKS_DEFAULT_MODEL", "lmstudio/seed");
        Environment.SetEnvironmentVariable("LLMTASKS_OPENAI_COMPAT_MODEL", "lmstudio/seed");
        Environment.SetEnvironmentVariable("LLMTASKS_MAX_MODEL", "max/sonnet");
        Environment.SetEnvironmentVariable("LLMTASKS_SEED_MCP_SERVER", RealClaude.FilesystemServer);
        Environment.SetEnvironmentVariable("LMSTUDIO_BASE_URL", openai.Url + "/v1");

        var script = Path.Combine(Repo.Root, "examples", "seed-cases.ps1");
        var result = _ps.Run("& $args[0] -StorePath $args[1] -WorkFolder $args[2]", script, _ps.StorePath, work).Ok();
        var lines = result.Output.Select(o => o.ToString()).ToArray();

        Assert.Equal(9, lines.Length);
        Assert.All(lines.Take(8), l => Assert.Contains(" Completed ", l));
        Assert.Contains("attempts=3 apple river cloud", lines[7]);
        Assert.Equal("5 mcp files: file check passed", lines[8]);
        Assert.Equal("hello from mcp", File.ReadAllText(file)); // written by the real MCP server, at the CLI's request
        Assert.Equal(10, openai.Requests.Count);
        Assert.Equal(3, anthropic.Requests.Count);
        // Case 8's third request carries the whole conversation: both failed answers and the reasons.
        var reAsk = openai.Requests[9].Body;
        Assert.Contains("Here are three words: apple, river, cloud", reAsk);
        Assert.Contains("apple river cloud stone", reAsk);
        Assert.Contains("Attempt 2 of 3", reAsk);
    }

    public void Dispose()
    {
        foreach (var (name, value) in _saved)
        {
            Environment.SetEnvironmentVariable(name, value);
        }

        _ps.Dispose();
    }
}

using System.Text.Json.Nodes;
using LlmTasks.Execution;
using LlmTasks.Providers;
using LlmTasks.Providers.ClaudeCode;
using LlmTasks.Tests.Doubles;
using F = LlmTasks.Tests.ClaudeCode.FakeAnthropicServer;

namespace LlmTasks.Tests.ClaudeCode;

/// <summary>
/// max/* through the REAL Claude Code CLI binary, talking to a loopback fake Messages endpoint.
/// Each test is one CLI run (about a second), so each covers one behaviour a user would notice.
/// </summary>
[Collection(nameof(ClaudeTempFiles))]
public sealed class RealCliTests : IDisposable
{
    private readonly TempStore _store = new();

    private (TaskManager Manager, ClaudeCodeProvider Provider) Open(int maxRetries = 3)
    {
        var cli = RealClaude.Require();
        var provider = new ClaudeCodeProvider(new ClaudeCodeOptions { ExecutablePath = cli, Environment = RealClaude.Environment(_store.Folder) });
        var options = new TaskManagerOptions { Retry = new RetryOptions { MaxRetries = maxRetries, BaseDelay = TimeSpan.FromMilliseconds(50) } };
        return (Managers.Open(_store.Path, options, provider), provider);
    }

    private static LlmTask Run(TaskManager manager, LlmTaskRequest request) =>
        Assert.Single(Managers.WaitAll(manager, [manager.Start(request).Id], seconds: 90));

    [SkippableFact]
    public void Conversation_with_a_system_prompt_reaches_the_endpoint_with_every_turn_in_order()
    {
        using var server = new F(new F.Text("You are Ada."));
        using var manager = Open().Manager;
        var task = Run(manager, new LlmTaskRequest
        {
            Model = "max/sonnet",
            ApiBase = server.BaseUrl,
            Messages =
            [
                new LlmMessage(LlmRole.System, "Answer in three words."),
                new LlmMessage(LlmRole.User, "U1: My name is Ada."),
                new LlmMessage(LlmRole.Assistant, "A1: Hello Ada."),
                new LlmMessage(LlmRole.User, "U2: Who am I?"),
            ],
        });

        Assert.True(task.State == LlmTaskState.Completed, task.Error);
        Assert.Equal("You are Ada.", task.Output);
        Assert.Single(server.Requests); // one model request carrying the whole conversation
        var sent = server.Messages(0).Where(m => m.Role != "system" && !m.Text.StartsWith("<system-reminder>", StringComparison.Ordinal)).ToList();
        Assert.Equal([("user", "U1: My name is Ada."), ("assistant", "A1: Hello Ada."), ("user", "U2: Who am I?")], sent);
        Assert.Contains("Answer in three words.", server.SystemText(0));
        Assert.Equal("Bearer test-oauth-token", server.Authorizations.Single());
        Assert.Equal(0, server.Requests.Single()["tools"]?.AsArray().Count ?? 0); // built-in tools are off
    }

    [SkippableFact]
    public void A_streamed_answer_arrives_in_pieces_through_the_real_cli_while_the_task_runs()
    {
        using var server = new F(new F.Pieces(["Once ", "upon ", "a time."], 300));
        using var manager = Open().Manager;
        var arrived = new System.Collections.Concurrent.ConcurrentQueue<(string? Text, LlmTaskState State)>();
        manager.OutputArrived += piece => arrived.Enqueue((piece.Text, manager.Store.Get(piece.TaskId)!.State));
        var task = Run(manager, new LlmTaskRequest
        {
            Model = "max/sonnet",
            ApiBase = server.BaseUrl,
            Messages = [new LlmMessage(LlmRole.User, "Tell a very short story.")],
        });

        Assert.True(task.State == LlmTaskState.Completed, task.Error);
        Assert.Equal("Once upon a time.", task.Output);
        var pieces = arrived.Where(p => p.Text is not null).ToList();
        Assert.True(pieces.Count >= 2, "the text should arrive in pieces: " + string.Join(" | ", pieces.Select(p => p.Text)));
        Assert.Equal("Once upon a time.", string.Concat(pieces.Select(p => p.Text)));
        Assert.All(pieces, p => Assert.Equal(LlmTaskState.Running, p.State));
    }

    [SkippableFact]
    public void Json_schema_output_becomes_the_structured_result()
    {
        using var server = new F(new F.ToolUse("StructuredOutput", """{"answer":4}"""));
        using var manager = Open().Manager;
        var task = Run(manager, new LlmTaskRequest
        {
            Model = "max/haiku",
            ApiBase = server.BaseUrl,
            Messages = [new LlmMessage(LlmRole.User, "What is 2+2?")],
            JsonSchema = """{"type":"object","properties":{"answer":{"type":"integer"}},"required":["answer"]}""",
        });

        Assert.True(task.State == LlmTaskState.Completed, task.Error);
        Assert.Equal(4, JsonNode.Parse(task.StructuredOutput!)!["answer"]!.GetValue<int>());
        Assert.Equal("claude-haiku-4-5-20251001", server.Requests.First()["model"]!.GetValue<string>());
    }

    [SkippableFact]
    public void Mcp_filesystem_server_writes_and_reads_a_real_file_and_denied_tools_are_recorded()
    {
        RealClaude.Require(filesystemServer: true);
        var work = Path.Combine(_store.Folder, "work");
        Directory.CreateDirectory(work);
        var file = Path.Combine(work, "hello.txt");
        using var server = new F(
            new F.ToolUse("mcp__fs__write_file", new JsonObject { ["path"] = file, ["content"] = "hello from mcp" }.ToJsonString()),
            new F.ToolUse("mcp__fs__read_file", new JsonObject { ["path"] = file }.ToJsonString()),
            new F.ToolUse("mcp__fs__create_directory", new JsonObject { ["path"] = Path.Combine(work, "denied") }.ToJsonString()),
            new F.Text("Wrote and read hello.txt."));
        using var manager = Open().Manager;
        var config = new JsonObject
        {
            ["mcpServers"] = new JsonObject
            {
                ["fs"] = new JsonObject { ["command"] = "node", ["args"] = new JsonArray(RealClaude.FilesystemServer, work) },
            },
        }.ToJsonString();
        var task = Run(manager, new LlmTaskRequest
        {
            Model = "max/sonnet",
            ApiBase = server.BaseUrl,
            Messages = [new LlmMessage(LlmRole.User, "Write 'hello from mcp' to hello.txt, read it back.")],
            ProviderOptions = new ProviderOptions
            {
                McpConfigJson = config,
                AllowedTools = ["mcp__fs__write_file", "mcp__fs__read_file"],
                WorkingDirectory = work,
                MaxTurns = 6,
            },
        });

        Assert.True(task.State == LlmTaskState.Completed, task.Error);
        Assert.Equal("Wrote and read hello.txt.", task.Output);
        Assert.Equal("hello from mcp", File.ReadAllText(file));
        Assert.False(Directory.Exists(Path.Combine(work, "denied")));
        Assert.Contains(server.Requests.First()["tools"]!.AsArray(), t => t!["name"]!.GetValue<string>() == "mcp__fs__write_file");
        Assert.Contains("hello from mcp", server.Requests.ElementAt(2).ToJsonString()); // the read_file result went back to the model

        var attempt = Assert.Single(manager.Store.GetAttempts(task.Id));
        var details = JsonNode.Parse(attempt.DetailsJson!)!;
        var denial = Assert.Single(details["permission_denials"]!.AsArray());
        Assert.Equal("mcp__fs__create_directory", denial!["tool_name"]!.GetValue<string>());
        Assert.Equal(4, details["num_turns"]!.GetValue<int>());
        Assert.False(string.IsNullOrEmpty(details["session_id"]?.GetValue<string>()));
        Assert.True(attempt.CostUsd > 0);
        Assert.True(attempt.InputTokens > 0 && attempt.OutputTokens > 0);
        Assert.Empty(Directory.GetFiles(Path.GetTempPath(), $"llmtasks-mcp-{task.Id}-*.json")); // the config file is gone
    }

    [SkippableFact]
    public void An_mcp_server_slower_to_start_than_the_clis_own_wait_still_gives_the_cli_its_tools()
    {
        // The real filesystem server, started 7 s late (a loaded machine, an npx download): the CLI's own default
        // waits 5 s for MCP servers and then sends its first request without their tools.
        RealClaude.Require(filesystemServer: true);
        var work = Path.Combine(_store.Folder, "slow-work");
        Directory.CreateDirectory(work);
        var file = Path.Combine(work, "late.txt");
        var late = Path.Combine(_store.Folder, "late-start.mjs");
        File.WriteAllText(late, """
            import { pathToFileURL } from 'node:url';
            const [server, ...rest] = process.argv.slice(2);
            setTimeout(() => { process.argv = [process.argv[0], server, ...rest]; import(pathToFileURL(server).href); }, 7000);
            """);
        using var server = new F(
            new F.ToolUse("mcp__fs__write_file", new JsonObject { ["path"] = file, ["content"] = "written late" }.ToJsonString()),
            new F.Text("Done."));
        using var manager = Open().Manager;
        var config = new JsonObject
        {
            ["mcpServers"] = new JsonObject
            {
                ["fs"] = new JsonObject { ["command"] = "node", ["args"] = new JsonArray(late, RealClaude.FilesystemServer, work) },
            },
        }.ToJsonString();
        var task = Run(manager, new LlmTaskRequest
        {
            Model = "max/sonnet",
            ApiBase = server.BaseUrl,
            Messages = [new LlmMessage(LlmRole.User, "Write 'written late' to late.txt.")],
            ProviderOptions = new ProviderOptions { McpConfigJson = config, AllowedTools = ["mcp__fs__write_file"], WorkingDirectory = work, MaxTurns = 4 },
        });

        Assert.True(task.State == LlmTaskState.Completed, task.Error);
        Assert.Contains(server.Requests.First()["tools"]!.AsArray(), t => t!["name"]!.GetValue<string>() == "mcp__fs__write_file");
        Assert.Equal("written late", File.ReadAllText(file));
    }

    [SkippableFact]
    public void Max_turns_is_a_classified_failure()
    {
        using var server = new F(new F.ToolUse("Bash", """{"command":"echo hi","description":"say hi"}"""), new F.Text("final"));
        using var manager = Open().Manager;
        var task = Run(manager, new LlmTaskRequest
        {
            Model = "max/sonnet",
            ApiBase = server.BaseUrl,
            Messages = [new LlmMessage(LlmRole.User, "Say hi with bash.")],
            ProviderOptions = new ProviderOptions { MaxTurns = 1, AllowedTools = ["Bash"] },
        });

        Assert.Equal(LlmTaskState.Failed, task.State);
        Assert.Equal("MaxTurns", task.ErrorKind);
        Assert.Contains("Reached maximum number of turns (1)", task.Error);
        Assert.Contains("-MaxTurns 1", task.Error);
    }

    [SkippableFact]
    public void An_authentication_error_fails_at_once_with_its_kind_and_the_clis_message()
    {
        using var server = new F(new F.Error(401, "authentication_error", "Invalid bearer token"));
        using var manager = Open().Manager;
        var task = Run(manager, new LlmTaskRequest { Model = "max/sonnet", ApiBase = server.BaseUrl, Messages = [new LlmMessage(LlmRole.User, "Hi")] });

        Assert.Equal((LlmTaskState.Failed, "AuthenticationFailed", 1), (task.State, task.ErrorKind, task.Attempts));
        Assert.Contains("API Error: 401", task.Error);
        Assert.DoesNotContain("exited with code 1 without", task.Error);
        Assert.Single(server.Requests); // not transient: no second try
    }

    [SkippableTheory]
    [InlineData(429, "rate_limit_error", "Rate limited", "RateLimited")]
    [InlineData(529, "overloaded_error", "Overloaded", "Overloaded")]
    [InlineData(500, "api_error", "Internal server error", "ServerError")]
    public void A_transient_api_error_is_tried_again_by_the_engine_and_kept_as_an_attempt(int status, string type, string message, string kind)
    {
        using var server = new F(new F.Error(status, type, message)); // then the endpoint's normal answer
        using var manager = Open().Manager;
        var task = Run(manager, new LlmTaskRequest { Model = "max/sonnet", ApiBase = server.BaseUrl, Messages = [new LlmMessage(LlmRole.User, "Hi")] });

        Assert.Equal((LlmTaskState.Completed, 2), (task.State, task.Attempts));
        var first = manager.Store.GetAttempts(task.Id)[0];
        Assert.Equal((LlmAttemptOutcome.Failed, kind), (first.Outcome, first.ErrorKind));
        Assert.Contains("API Error", first.Error); // the CLI's own words
        Assert.Contains(status.ToString(), first.Error);
        Assert.Contains("\"session_id\"", first.DetailsJson); // the CLI's facts are kept on the failed try too
        Assert.Equal(2, server.Requests.Count); // CLAUDE_CODE_MAX_RETRIES=0: each try is one CLI request; the engine owns retries
    }

    [SkippableFact]
    public void A_transient_api_error_every_time_fails_with_its_kind_after_the_retries()
    {
        using var server = new F(new F.Error(529, "overloaded_error", "Overloaded"), new F.Error(529, "overloaded_error", "Overloaded"));
        using var manager = Open(maxRetries: 1).Manager;
        var task = Run(manager, new LlmTaskRequest { Model = "max/sonnet", ApiBase = server.BaseUrl, Messages = [new LlmMessage(LlmRole.User, "Hi")] });

        Assert.Equal((LlmTaskState.Failed, "Overloaded", 2), (task.State, task.ErrorKind, task.Attempts));
        Assert.Contains("API Error: 529", task.Error);
        Assert.Contains("gave up after 2 tries", task.Error);
        Assert.Equal(2, server.Requests.Count);
    }

    [SkippableFact]
    public void An_unreachable_endpoint_is_a_connection_failure()
    {
        using var manager = Open().Manager;
        var task = Run(manager, new LlmTaskRequest
        {
            Model = "max/sonnet",
            ApiBase = $"http://127.0.0.1:{F.FreePort()}",
            Messages = [new LlmMessage(LlmRole.User, "Hi")],
        });

        Assert.Equal(LlmTaskState.Failed, task.State);
        Assert.Equal("ConnectionFailed", task.ErrorKind);
        Assert.Contains("Unable to connect", task.Error);
    }

    public void Dispose() => _store.Dispose();
}

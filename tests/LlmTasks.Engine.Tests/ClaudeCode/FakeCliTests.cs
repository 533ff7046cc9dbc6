using System.Text.Json.Nodes;
using LlmTasks.Execution;
using LlmTasks.Providers;
using LlmTasks.Providers.ClaudeCode;
using LlmTasks.Tests.Doubles;

namespace LlmTasks.Tests.ClaudeCode;

/// <summary>
/// The provider against a scripted fake executable (a bash script standing in for claude): what it is
/// given (arguments, stdin, environment, working directory) and how each way a run can end is reported.
/// </summary>
public sealed class FakeCliTests : IDisposable
{
    private const string Success = """{"type":"result","subtype":"success","is_error":false,"result":"ok","session_id":"s-1","num_turns":1,"total_cost_usd":0.5,"usage":{"input_tokens":3,"output_tokens":2,"cache_read_input_tokens":1,"cache_creation_input_tokens":0},"permission_denials":[],"terminal_reason":"completed"}""";

    private readonly TempStore _store = new();
    private string Out => _store.Folder;

    private TaskManager Fake(string body)
    {
        Skip.If(OperatingSystem.IsWindows(), "the fake CLI is a bash script");
        var script = Path.Combine(_store.Folder, $"claude-{Guid.NewGuid():N}");
        File.WriteAllText(script, "#!/usr/bin/env bash\n" + body + "\n");
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
        var provider = new ClaudeCodeProvider(new ClaudeCodeOptions
        {
            ExecutablePath = script,
            Environment = new Dictionary<string, string?> { ["FAKE_OUT"] = Out },
        });
        return Managers.Open(_store.Path, provider);
    }

    private static LlmTask Run(TaskManager manager, LlmTaskRequest request) =>
        Assert.Single(Managers.WaitAll(manager, [manager.Start(request).Id], seconds: 60));

    private static LlmTaskRequest Ask(string prompt = "What is 2+2?", string model = "max/sonnet") => new()
    {
        Model = model,
        Messages = [new LlmMessage(LlmRole.User, prompt)],
    };

    [SkippableFact]
    public void The_cli_gets_its_flags_as_a_list_the_prompt_on_a_closed_stdin_and_an_explicit_environment()
    {
        using var manager = Fake($"""
            printf '%s\n' "$@" > "$FAKE_OUT/args.txt"
            cat > "$FAKE_OUT/stdin.txt"
            env > "$FAKE_OUT/env.txt"
            pwd > "$FAKE_OUT/cwd.txt"
            echo '{Success}'
            """);
        var work = Directory.CreateDirectory(Path.Combine(Out, "work")).FullName;
        var task = Run(manager, Ask("What is 'two' + \"two\"; $(rm -rf /)?", "max/claude-opus-4-1") with
        {
            Messages = [new LlmMessage(LlmRole.System, "Be brief."), new LlmMessage(LlmRole.User, "What is 'two' + \"two\"; $(rm -rf /)?")],
            JsonSchema = null,
            ProviderOptions = new ProviderOptions
            {
                WorkingDirectory = work,
                MaxTurns = 3,
                AllowedTools = ["mcp__fs__read_file", "Read"],
            },
        });

        Assert.True(task.State == LlmTaskState.Completed, task.Error);
        Assert.Equal("ok", task.Output);
        Assert.Equal(4, task.InputTokens); // input + cache reads
        Assert.Equal(2, task.OutputTokens);
        Assert.Equal(0.5m, task.CostUsd);
        Assert.Equal(
            ["-p", "--output-format", "stream-json", "--verbose", "--include-partial-messages", "--model", "claude-opus-4-1", "--no-session-persistence", "--system-prompt", "Be brief.",
             "--max-turns", "3", "--tools", "Read", "--strict-mcp-config", "--allowedTools", "mcp__fs__read_file,Read"],
            File.ReadAllLines(Path.Combine(Out, "args.txt")));
        Assert.Equal("What is 'two' + \"two\"; $(rm -rf /)?", File.ReadAllText(Path.Combine(Out, "stdin.txt"))); // stdin was closed, or cat would wait
        Assert.Equal(work, File.ReadAllText(Path.Combine(Out, "cwd.txt")).Trim());
        var env = File.ReadAllLines(Path.Combine(Out, "env.txt"));
        Assert.Contains("CLAUDE_CODE_MAX_RETRIES=0", env);
        Assert.DoesNotContain(env, l => l.StartsWith("ANTHROPIC_API_KEY=", StringComparison.Ordinal));
    }

    [SkippableFact]
    public void Built_in_tools_are_off_and_a_conversation_goes_as_stream_json_with_each_earlier_user_turn_acknowledged()
    {
        // Acknowledge every stdin line that is a user turn with a result line, as the real CLI does.
        using var manager = Fake($$"""
            printf '%s\n' "$@" > "$FAKE_OUT/args.txt"
            : > "$FAKE_OUT/stdin.txt"
            while IFS= read -r line; do
              printf '%s\n' "$line" >> "$FAKE_OUT/stdin.txt"
              case "$line" in *'"type":"user"'*) echo '{"type":"result","subtype":"success","is_error":false,"result":"ack","num_turns":0}' ;; esac
            done
            echo '{{Success}}'
            """);
        var task = Run(manager, Ask() with
        {
            Messages = [new LlmMessage(LlmRole.User, "U1"), new LlmMessage(LlmRole.Assistant, "A1"), new LlmMessage(LlmRole.User, "U2")],
        });

        Assert.True(task.State == LlmTaskState.Completed, task.Error);
        Assert.Equal("ok", task.Output); // the last result line, not an acknowledgement
        Assert.Equal(["-p", "--input-format", "stream-json", "--output-format", "stream-json", "--verbose", "--include-partial-messages", "--model", "sonnet", "--no-session-persistence",
            "--tools", "", "--strict-mcp-config"], File.ReadAllLines(Path.Combine(Out, "args.txt")));
        var lines = File.ReadAllLines(Path.Combine(Out, "stdin.txt")).Select(l => JsonNode.Parse(l)!).ToList();
        Assert.Equal(3, lines.Count);
        Assert.Equal(("user", "U1", false), (lines[0]["type"]!.GetValue<string>(), lines[0]["message"]!["content"]!.GetValue<string>(), lines[0]["shouldQuery"]!.GetValue<bool>()));
        Assert.Equal("A1", lines[1]["message"]!["content"]![0]!["text"]!.GetValue<string>());
        Assert.Equal("U2", lines[2]["message"]!["content"]!.GetValue<string>());
        Assert.Null(lines[2]["shouldQuery"]);
    }

    [SkippableFact]
    public void A_streamed_run_yields_each_text_delta_as_it_comes_and_the_answer_is_the_results_text()
    {
        // The CLI streams every turn's text (here a first turn before a tool, then the answer); the result's text is the answer.
        using var manager = Fake("""
            cat > /dev/null
            for piece in 'Let me ' 'check. ' 'Four.'; do
              printf '{"type":"stream_event","event":{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"%s"}}}\n' "$piece"
              sleep 0.2
            done
            echo '{"type":"result","subtype":"success","is_error":false,"result":"Four.","session_id":"s-2","num_turns":2,"usage":{"input_tokens":3,"output_tokens":2},"permission_denials":[]}'
            """);
        var arrived = new System.Collections.Concurrent.ConcurrentQueue<(string? Text, LlmTaskState State)>();
        manager.OutputArrived += piece => arrived.Enqueue((piece.Text, manager.Store.Get(piece.TaskId)!.State));
        var task = Run(manager, Ask());

        Assert.True(task.State == LlmTaskState.Completed, task.Error);
        Assert.Equal("Four.", task.Output);
        var pieces = arrived.Where(p => p.Text is not null).ToList();
        Assert.Equal(["Let me ", "check. ", "Four."], pieces.Select(p => p.Text));
        Assert.All(pieces, p => Assert.Equal(LlmTaskState.Running, p.State)); // each piece came while the task ran
        Assert.NotNull(manager.Store.GetAttempts(task.Id).Single().TimeToFirstToken);
    }

    [SkippableFact]
    public void Output_that_is_not_json_is_its_own_error_with_the_stderr_tail()
    {
        using var manager = Fake("echo 'Welcome to Claude Code!'; echo 'warning: update available' >&2");
        var task = Run(manager, Ask());

        Assert.Equal(LlmTaskState.Failed, task.State);
        Assert.Equal("InvalidOutput", task.ErrorKind);
        Assert.Contains("Welcome to Claude Code!", task.Error);
        Assert.Contains("stderr: warning: update available", task.Error);
    }

    [SkippableFact]
    public void An_exit_without_a_result_names_the_exit_code_and_the_stderr_tail()
    {
        using var manager = Fake("echo 'fatal: cannot open /dev/tty' >&2; exit 3");
        var task = Run(manager, Ask());

        Assert.Equal(LlmTaskState.Failed, task.State);
        Assert.Equal("CliFailed", task.ErrorKind);
        Assert.Contains("exited with code 3", task.Error);
        Assert.Contains("fatal: cannot open /dev/tty", task.Error);
    }

    [SkippableTheory]
    [InlineData("""{"type":"result","subtype":"success","is_error":true,"api_error_status":429,"result":"API Error: Server is temporarily limiting requests (not your usage limit)"}""", "RateLimited", "temporarily limiting")]
    [InlineData("""{"type":"result","subtype":"success","is_error":true,"api_error_status":429,"result":"Claude AI usage limit reached|1767225600"}""", "QuotaExceeded", "usage limit reached")]
    [InlineData("""{"type":"result","subtype":"success","is_error":true,"api_error_status":null,"result":"Not logged in · Please run /login"}""", "NotLoggedIn", "Please run /login")]
    [InlineData("""{"type":"result","subtype":"success","is_error":true,"api_error_status":503,"result":"API Error: 503 Service Unavailable"}""", "ServerError", "503 Service Unavailable")]
    [InlineData("""{"type":"result","subtype":"error_during_execution","is_error":true,"errors":["Tool crashed"]}""", "ProviderError", "Tool crashed")]
    public void An_is_error_result_is_classified_with_the_clis_own_message(string result, string kind, string said)
    {
        using var manager = Fake($"cat > /dev/null; echo '{result}'; exit 1");
        var task = Run(manager, Ask());

        Assert.Equal(LlmTaskState.Failed, task.State);
        Assert.Equal(kind, task.ErrorKind);
        Assert.Contains(said, task.Error);
        Assert.Contains("exit code 1", task.Error);
    }

    [SkippableFact]
    public void A_missing_structured_output_when_a_schema_was_asked_is_a_failure()
    {
        using var manager = Fake($"echo '{Success}'");
        var task = Run(manager, Ask() with { JsonSchema = """{"type":"object"}""" });

        Assert.Equal(LlmTaskState.Failed, task.State);
        Assert.Equal("InvalidJson", task.ErrorKind);
        Assert.Contains("no structured_output", task.Error);
    }

    [SkippableTheory]
    [InlineData(true)]
    [InlineData(false)]
    public void A_timeout_or_a_stop_kills_the_whole_process_tree(bool timeout)
    {
        using var manager = Fake("""
            echo "fake cli: still thinking" >&2
            sleep 300 &
            echo $! > "$FAKE_OUT/child.pid"
            wait
            """);
        // A timeout long enough for bash to start its child even on a loaded machine.
        var started = manager.Start(Ask() with { TimeoutSec = timeout ? 4 : null });
        var childPid = Path.Combine(Out, "child.pid");
        Assert.True(SpinWait.SpinUntil(() => File.Exists(childPid) && File.ReadAllText(childPid).Trim().Length > 0, TimeSpan.FromSeconds(20)),
            "the fake CLI did not start its child: " + manager.Store.Query(new LlmTasks.Storage.TaskQuery { Ids = [started.Id] }).Single().Error);
        var child = int.Parse(File.ReadAllText(childPid).Trim());
        Assert.True(IsAlive(child));
        if (!timeout)
        {
            manager.Stop([started.Id]);
        }

        var task = Assert.Single(Managers.WaitAll(manager, [started.Id], seconds: 30));
        Assert.Equal(timeout ? LlmTaskState.Failed : LlmTaskState.Cancelled, task.State);
        Assert.True((timeout ? "Timeout" : "Cancelled") == task.ErrorKind, $"{task.ErrorKind}: {task.Error}");
        if (timeout)
        {
            Assert.Contains("process tree killed", task.Error); // the CLI's own account, with its stderr tail
            Assert.Contains("fake cli: still thinking", task.Error);
        }

        Assert.True(SpinWait.SpinUntil(() => !IsAlive(child), TimeSpan.FromSeconds(10)), $"the CLI's child process {child} survived");
    }

    [Fact]
    public void A_missing_cli_says_how_to_install_it()
    {
        var provider = new ClaudeCodeProvider(new ClaudeCodeOptions { ExecutablePath = Path.Combine(Out, "no-such-claude") });
        using var manager = Managers.Open(_store.Path, provider);
        var task = Run(manager, Ask());

        Assert.Equal(LlmTaskState.Failed, task.State);
        Assert.Equal("CliNotFound", task.ErrorKind);
        Assert.Contains("npm install -g @anthropic-ai/claude-code", task.Error);
        Assert.Contains("LLMTASKS_CLAUDE_PATH", task.Error);
    }

    [SkippableFact]
    public void Symlinks_are_followed_to_the_real_executable_and_batch_shims_are_refused()
    {
        Skip.If(OperatingSystem.IsWindows(), "symlinks need privileges on Windows");
        var real = Path.Combine(Out, "claude.exe");
        File.WriteAllText(real, "binary");
        var link = Path.Combine(Out, "claude");
        File.CreateSymbolicLink(link, real);
        Assert.Equal(real, ClaudeExecutable.Resolve(link));

        var shim = Path.Combine(Out, "claude.cmd");
        File.WriteAllText(shim, "@node claude.js %*");
        var e = Assert.Throws<ClaudeCodeException>(() => ClaudeExecutable.Resolve(shim));
        Assert.Equal("CliNotFound", e.ErrorId);
        Assert.Contains("CVE-2024-27980", e.Message);
    }

    [Theory]
    [InlineData("max/opus", "opus")]
    [InlineData("max/Sonnet", "sonnet")]
    [InlineData("max/haiku", "haiku")]
    [InlineData("max/claude-sonnet-4-5-20250929", "claude-sonnet-4-5-20250929")]
    public void Aliases_and_full_claude_names_pass_through(string model, string cli) =>
        Assert.Equal(cli, ClaudeModels.ToCli(ModelId.Parse(model, ["max"])));

    [Fact]
    public void Other_model_names_are_refused_before_the_task_is_stored()
    {
        using var manager = Managers.Open(_store.Path, new ClaudeCodeProvider());
        var e = Assert.Throws<LlmTasksException>(() => manager.Start(Ask(model: "max/gpt-4o")));
        Assert.Equal(ErrorIds.InvalidModel, e.ErrorId);
        Assert.Contains("max/opus, max/sonnet, max/haiku", e.Message);
    }

    [Fact]
    public void The_api_key_is_removed_from_the_childs_environment_unless_the_task_brings_one()
    {
        var request = Ask();
        Assert.True(ClaudeEnvironment.For(new ProviderCallContext(1, request, null), new ClaudeCodeOptions()).TryGetValue("ANTHROPIC_API_KEY", out var removed));
        Assert.Null(removed); // null: CliWrap removes the variable
        Assert.Equal("sk-task", ClaudeEnvironment.For(new ProviderCallContext(1, request, new TaskSecrets("sk-task")), new ClaudeCodeOptions())["ANTHROPIC_API_KEY"]);
    }

    private static bool IsAlive(int pid)
    {
        var stat = $"/proc/{pid}/stat";
        if (!File.Exists(stat))
        {
            return false;
        }

        try
        {
            var text = File.ReadAllText(stat);
            return text[(text.LastIndexOf(')') + 2)..][0] != 'Z'; // a zombie is dead, only not yet reaped
        }
        catch (IOException)
        {
            return false;
        }
    }

    public void Dispose() => _store.Dispose();
}

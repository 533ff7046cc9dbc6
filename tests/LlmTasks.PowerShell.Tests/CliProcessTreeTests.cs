using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using LlmTasks.Tests.ClaudeCode;
using LlmTasks.Tests.Http;

namespace LlmTasks.PowerShell.Tests;

/// <summary>
/// The max/* CLI's process tree dies with the shell that started it, even when that shell is killed with SIGKILL, and the
/// next process that takes the task over cleans up what the killed one left: a process of the run that outlived the kill
/// (found by the run id in its environment), the MCP config file (which can hold a token) and the run's work folder.
/// Real processes throughout: a real pwsh, killed; the fake CLI is a bash script with children; the real CLI with its MCP
/// server waits on a loopback endpoint that never answers.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
[Collection(nameof(HeavyProcesses))]
public sealed class CliProcessTreeTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "llmtasks-clitree", Guid.NewGuid().ToString("N"));

    public CliProcessTreeTests() => Directory.CreateDirectory(_folder);

    public void Dispose()
    {
        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    /// <summary>A private TMPDIR (the MCP file and work folder go there) and runtime folder (the run records) for every process of a test.</summary>
    private Dictionary<string, string?> Environment(string cli, params (string Name, string? Value)[] more)
    {
        var temp = Directory.CreateDirectory(Path.Combine(_folder, "tmp")).FullName;
        var runtime = Directory.CreateDirectory(Path.Combine(_folder, "run")).FullName;
        File.SetUnixFileMode(runtime, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var environment = new Dictionary<string, string?>
        {
            ["TMPDIR"] = temp,
            ["XDG_RUNTIME_DIR"] = runtime,
            ["LLMTASKS_CLAUDE_PATH"] = cli,
            ["FAKE_OUT"] = _folder,
            ["LLMTASKS_SIGNING_KEY_FILE"] = Path.Combine(_folder, "user.key"),
        };
        foreach (var (name, value) in more)
        {
            environment[name] = value;
        }

        return environment;
    }

    private string Temp => Path.Combine(_folder, "tmp");

    private string[] Leftovers() =>
    [
        .. Directory.GetFiles(Temp, "llmtasks-mcp-*"),
        .. Directory.GetDirectories(Temp, "llmtasks-claude-*"),
        .. Directory.GetFiles(Path.Combine(_folder, "run"), "*.json", SearchOption.AllDirectories),
    ];

    private static bool IsAlive(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[(stat.LastIndexOf(')') + 2)..][0] != 'Z'; // a zombie is dead, only not reaped yet
        }
        catch (IOException)
        {
            return false;
        }
    }

    private static bool Eventually(Func<bool> condition, int seconds) => SpinWait.SpinUntil(() =>
    {
        if (condition())
        {
            return true;
        }

        Thread.Sleep(100);
        return false;
    }, TimeSpan.FromSeconds(seconds));

    private static string CommandLine(int pid)
    {
        try
        {
            return $"{pid} {File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' ')}";
        }
        catch (IOException)
        {
            return $"{pid} (gone)";
        }
    }

    /// <summary>The processes whose environment carries the run id of the test's one run record.</summary>
    private int[] ProcessesOfTheRun()
    {
        var record = Directory.GetFiles(Path.Combine(_folder, "run"), "*.json", SearchOption.AllDirectories).Single();
        var marker = Encoding.ASCII.GetBytes("LLMTASKS_CLI_RUN=" + JsonNode.Parse(File.ReadAllText(record))!["run"]!.GetValue<string>() + "\0");
        var found = new List<int>();
        foreach (var entry in Directory.GetDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(entry), out var pid))
            {
                try
                {
                    if (File.ReadAllBytes(Path.Combine(entry, "environ")).AsSpan().IndexOf(marker) >= 0 && IsAlive(pid))
                    {
                        found.Add(pid);
                    }
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                }
            }
        }

        return [.. found];
    }

    [SkippableFact]
    public async Task A_CLI_and_its_children_die_with_a_shell_killed_by_SIGKILL_and_the_next_wait_cleans_up_what_it_left()
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "the parent-death signal is Linux's; Windows uses a job object, tested there");
        var cli = Path.Combine(_folder, "claude");
        // First run: a child that dies with a SIGTERM, one that ignores it (as a stubborn MCP server might), then waits.
        // Once $FAKE_OUT/answer exists (the recovering run), it answers at once.
        File.WriteAllText(cli, """
            #!/usr/bin/env bash
            if [ -e "$FAKE_OUT/answer" ]; then
              cat > /dev/null
              echo '{"type":"result","subtype":"success","is_error":false,"result":"recovered","session_id":"s-2","num_turns":1,"usage":{"input_tokens":1,"output_tokens":1}}'
              exit 0
            fi
            echo $$ > "$FAKE_OUT/cli.pid"
            sleep 300 &
            echo $! > "$FAKE_OUT/child.pid"
            ( trap '' TERM; exec sleep 301 ) &
            echo $! > "$FAKE_OUT/stubborn.pid"
            wait
            """.Replace("\r\n", "\n"));
        File.SetUnixFileMode(cli, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var store = Path.Combine(_folder, "tasks.db");
        var environment = Environment(cli, ("LLMTASKS_LEASE_SECONDS", "600"));

        using (var shell = Pwsh.Start(["-Command", """
            $null = Start-LlmTask 'hello' -Name tree -Model max/sonnet -McpConfig @{ mcpServers = @{} }
            'started'
            Start-Sleep 300
            """], Pwsh.WithStore(store, environment)))
        {
            Assert.Equal("started", await shell.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(120)));
            var stubbornFile = Path.Combine(_folder, "stubborn.pid");
            Assert.True(Eventually(() => File.Exists(stubbornFile) && File.ReadAllText(stubbornFile).Trim().Length > 0, 60), "the fake CLI did not start its children");
            Assert.Equal(3, Leftovers().Length); // the MCP file, the work folder, the run's record

            shell.Kill(); // SIGKILL: none of its code runs
            await shell.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        }

        int Pid(string name) => int.Parse(File.ReadAllText(Path.Combine(_folder, name)).Trim());
        var (cliPid, child, stubborn) = (Pid("cli.pid"), Pid("child.pid"), Pid("stubborn.pid"));
        Assert.True(Eventually(() => !IsAlive(cliPid) && !IsAlive(child), 10), $"the CLI ({cliPid}) or its child ({child}) outlived the shell");

        // What the kill left: a process that ignored the signal, the files. Nobody else cleans them up.
        Thread.Sleep(1000);
        Assert.True(IsAlive(stubborn), "the stubborn child should outlive the signal");
        Assert.Equal(3, Leftovers().Length);

        // The next wait takes the task over (its owner is gone) and cleans up after the run that was killed.
        File.WriteAllText(Path.Combine(_folder, "answer"), "yes");
        var wait = Pwsh.Command("(Get-LlmTask -Name tree | Wait-LlmTask -Timeout 120).Output", store, environment: environment);
        Assert.True(wait.ExitCode == 0, wait.Output + wait.Errors);
        Assert.Contains("recovered", wait.Output);
        Assert.True(Eventually(() => !IsAlive(stubborn), 10), $"the left-over process {stubborn} of the killed run is still alive");
        Assert.Empty(Leftovers());
    }

    [SkippableFact]
    public async Task The_real_CLI_and_its_MCP_server_die_with_a_shell_killed_by_SIGKILL()
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "the parent-death signal is Linux's; Windows uses a job object, tested there");
        var cli = RealClaude.Require(filesystemServer: true);
        using var endpoint = new LoopbackServer().Script(Reply.Hang()); // the CLI waits for an answer that never comes
        var work = Directory.CreateDirectory(Path.Combine(_folder, "work")).FullName;
        var environment = Environment(cli, [.. RealClaude.Environment(_folder).Where(v => v.Key != "TMPDIR").Select(v => (v.Key, v.Value)),
            ("ANTHROPIC_BASE_URL", endpoint.Url), ("FS_SERVER", RealClaude.FilesystemServer), ("WORK", work)]);
        var store = Path.Combine(_folder, "real.db");

        using (var shell = Pwsh.Start(["-Command", """
            $mcp = @{ mcpServers = @{ fs = @{ command = 'node'; args = @($env:FS_SERVER, $env:WORK) } } }
            $null = Start-LlmTask 'hello' -Name real -Model max/haiku -McpConfig $mcp -AllowedTools mcp__fs__list_directory
            'started'
            Start-Sleep 300
            """], Pwsh.WithStore(store, environment)))
        {
            Assert.Equal("started", await shell.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(120)));
            // The CLI has started its MCP server and sent its request: it now waits on the endpoint.
            bool McpServerRuns() => ProcessesOfTheRun().Any(p => CommandLine(p).Contains("server-filesystem", StringComparison.Ordinal));
            Assert.True(Eventually(() => endpoint.Requests.Count > 0 && McpServerRuns(), 90),
                $"the CLI should be waiting with its MCP server: {endpoint.Requests.Count} requests, processes {string.Join(", ", ProcessesOfTheRun().Select(CommandLine))}");
            var processes = ProcessesOfTheRun(); // the CLI and the MCP server (node), under the wrapper

            shell.Kill();
            await shell.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
            Assert.True(Eventually(() => processes.All(p => !IsAlive(p)), 15),
                "processes of the run outlived the shell: " + string.Join(", ", processes.Where(IsAlive).Select(CommandLine)));
        }
    }
}

namespace LlmTasks.Tests.ClaudeCode;

/// <summary>
/// The real Claude Code CLI and MCP filesystem server the integration tests run: $env:LLMTASKS_CLAUDE_PATH,
/// else what the build of the engine tests installs with npm into .tools/node_modules (build/Tools.targets).
/// Missing is a failure, never a skip: the README's test command installs it.
/// </summary>
internal static class RealClaude
{
    public const string InstallHint = "build the tests again (they run 'npm ci --prefix .tools'), or set LLMTASKS_CLAUDE_PATH";

    public static string Root { get; } = FindRoot();

    public static string? CliPath
    {
        get
        {
            var configured = System.Environment.GetEnvironmentVariable("LLMTASKS_CLAUDE_PATH");
            if (!string.IsNullOrWhiteSpace(configured) && File.Exists(configured))
            {
                return configured;
            }

            var installed = Path.Combine(Root, ".tools", "node_modules", ".bin", "claude");
            return File.Exists(installed) ? installed : null;
        }
    }

    public static string FilesystemServer => Path.Combine(Root, ".tools", "node_modules", "@modelcontextprotocol", "server-filesystem", "dist", "index.js");

    /// <summary>The CLI's path; the test fails when it is not installed.</summary>
    public static string Require(bool filesystemServer = false)
    {
        var path = CliPath;
        var missing = path is null ? "the Claude Code CLI" : filesystemServer && !File.Exists(FilesystemServer) ? "@modelcontextprotocol/server-filesystem" : null;
        if (missing is not null)
        {
            Assert.Fail($"{missing} is not installed: {InstallHint}.");
        }

        return path!;
    }

    /// <summary>
    /// The test child's environment on top of the parent's: a throw-away HOME and TMPDIR, the
    /// subscription route (CLAUDE_CODE_OAUTH_TOKEN, no API key), no non-essential traffic, and
    /// IS_SANDBOX removed so the CLI behaves as on a user's machine.
    /// </summary>
    public static Dictionary<string, string?> Environment(string folder)
    {
        var home = Path.Combine(folder, "home");
        var tmp = Path.Combine(folder, "tmp");
        Directory.CreateDirectory(home);
        Directory.CreateDirectory(tmp);
        return new Dictionary<string, string?>
        {
            ["HOME"] = home,
            ["TMPDIR"] = tmp,
            ["CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC"] = "1",
            ["CLAUDE_CODE_OAUTH_TOKEN"] = "test-oauth-token",
            ["ANTHROPIC_API_KEY"] = null,
            ["IS_SANDBOX"] = null,
        };
    }

    private static string FindRoot()
    {
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            if (File.Exists(Path.Combine(folder.FullName, "Engine.sln")))
            {
                return folder.FullName;
            }
        }

        throw new InvalidOperationException("Cannot find the repository root (Engine.sln) above " + AppContext.BaseDirectory);
    }
}

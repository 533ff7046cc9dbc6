namespace LlmTasks.Providers.ClaudeCode;

/// <summary>
/// Finds the real claude executable: $env:LLMTASKS_CLAUDE_PATH, else <c>claude</c> on PATH, with
/// symlinks followed (npm's node_modules/.bin/claude links to the package's native bin/claude.exe).
/// It is run directly, never through a shell; on Windows .cmd/.bat shims are refused, as Anthropic's
/// own SDK refuses them (CVE-2024-27980: batch files re-parse their arguments), unless the native
/// binary sits where npm puts it next to the shim.
/// </summary>
internal static class ClaudeExecutable
{
    private const string NpmNativeBinary = "node_modules/@anthropic-ai/claude-code/bin/claude.exe";

    public static string Resolve(string? configured)
    {
        var fromVariable = Configuration.EngineEnvironment.Process.Raw(ClaudeCodeOptions.PathVariable);
        var candidate = configured ?? (string.IsNullOrWhiteSpace(fromVariable) ? FindOnPath() : fromVariable.Trim());
        if (candidate is null)
        {
            throw NotFound($"no 'claude' on PATH and $env:{ClaudeCodeOptions.PathVariable} is not set");
        }

        if (!File.Exists(candidate))
        {
            throw NotFound($"'{candidate}' does not exist");
        }

        var real = Path.GetFullPath(new FileInfo(candidate).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? candidate);
        if (!File.Exists(real))
        {
            throw NotFound($"'{candidate}' links to '{real}', which does not exist");
        }

        if (IsBatchShim(real))
        {
            var native = Path.Combine(Path.GetDirectoryName(real)!, NpmNativeBinary);
            if (File.Exists(native))
            {
                return native;
            }

            throw new ClaudeCodeException(ClaudeErrorKinds.CliNotFound, LlmErrorCategory.NotInstalled,
                $"'{real}' is a batch-file shim; LlmTasks runs the Claude Code CLI only as a real executable (CVE-2024-27980). " +
                $"Set $env:{ClaudeCodeOptions.PathVariable} to the native claude.exe (for npm installs: <npm prefix>\\{NpmNativeBinary.Replace('/', '\\')}).");
        }

        return real;
    }

    internal static bool IsBatchShim(string path) =>
        path.EndsWith(".cmd", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".bat", StringComparison.OrdinalIgnoreCase);

    private static string? FindOnPath()
    {
        var names = OperatingSystem.IsWindows() ? new[] { "claude.exe", "claude.cmd", "claude.bat" } : ["claude"];
        foreach (var folder in (Configuration.EngineEnvironment.Process.Raw("PATH") ?? string.Empty).Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            foreach (var name in names)
            {
                var path = Path.Combine(folder.Trim('"'), name);
                if (File.Exists(path))
                {
                    return path;
                }
            }
        }

        return null;
    }

    private static ClaudeCodeException NotFound(string why) =>
        new(ClaudeErrorKinds.CliNotFound, LlmErrorCategory.NotInstalled,
            $"The Claude Code CLI was not found ({why}). Install it with 'npm install -g @anthropic-ai/claude-code' and log in once with 'claude', " +
            $"or set $env:{ClaudeCodeOptions.PathVariable} to the full path of the claude executable.");
}

using LlmTasks.Providers;
using LlmTasks.Providers.Http;

namespace LlmTasks.Security;

/// <summary>
/// What a foreign request (read from the store without this user's signature) may make the Claude Code CLI do: an MCP
/// configuration starts programs, allowed tools let the model run commands and edit files, a working directory says where.
/// Such a request gets them only when this process allows them: an MCP config file and a working directory inside one of
/// $env:LLMTASKS_TRUSTED_FOLDERS, tool rules listed in $env:LLMTASKS_TRUSTED_TOOLS; an inline MCP configuration never.
/// Anything else fails the task with its own error id before a file is written or the CLI is started.
/// </summary>
internal static class StoredAgentOptions
{
    public static void Require(ProviderCallContext context, LlmTaskRequest request, ProviderEnvironment settings)
    {
        if (!request.Foreign && !context.Request.Foreign)
        {
            return;
        }

        var options = request.ProviderOptions;
        static string? Given(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();
        var why = context.Request.ForeignReason ?? request.ForeignReason ?? "it is not signed by this user";
        var folders = settings.TrustedFolders;

        if (Given(options?.McpConfigJson) is not null)
        {
            throw Refused(ErrorIds.UntrustedMcpConfig, context, "an inline MCP configuration", why,
                $"An MCP configuration starts programs, so this process takes one from such a request only as a file inside $env:{ProviderEnvironment.TrustedFoldersVariable}: " +
                "save it there and give its path to -McpConfig, or start the task again in your own session.");
        }

        if (Given(options?.McpConfigPath) is { } file && !InAny(file, folders))
        {
            throw Refused(ErrorIds.UntrustedMcpConfig, context, $"the MCP configuration file '{file}'", why,
                $"An MCP configuration starts programs, so this process reads one named by such a request only inside $env:{ProviderEnvironment.TrustedFoldersVariable}{Listed(folders)}.");
        }

        if (options?.AllowedTools is { Count: > 0 } tools)
        {
            var trusted = settings.TrustedTools;
            var refused = tools.Select(t => t.Trim()).Where(t => t.Length > 0)
                .Where(t => !trusted.Contains("*") && !trusted.Contains(t, StringComparer.Ordinal)).ToList();
            if (refused.Count > 0)
            {
                throw Refused(ErrorIds.UntrustedTools, context, $"the tools {string.Join(", ", refused.Select(t => $"'{t}'"))}", why,
                    $"Tools let the model run commands and change files, so this process allows such a request only the rules in $env:{ProviderEnvironment.TrustedToolsVariable}" +
                    (trusted.Count == 0 ? " (not set)." : $" ({string.Join(", ", trusted)})."));
            }
        }

        if (Given(options?.WorkingDirectory) is { } folder && !InAny(folder, folders))
        {
            throw Refused(ErrorIds.UntrustedWorkingDirectory, context, $"the working directory '{folder}'", why,
                $"The CLI's tools act in its working directory, so this process lets such a request choose one only inside $env:{ProviderEnvironment.TrustedFoldersVariable}{Listed(folders)}.");
        }
    }

    private static string Listed(IReadOnlyList<string> folders) => folders.Count == 0 ? " (not set)" : $" ({string.Join(", ", folders)})";

    private static LlmTasksException Refused(string errorId, ProviderCallContext context, string what, string why, string rule) =>
        new(errorId, LlmErrorCategory.SecurityError,
            $"Task {context.TaskId} was not run: its stored request asks for {what}, and {why}. {rule} " +
            "A request you start or restart yourself is signed with your key and is not limited this way.")
        {
            Target = what,
        };

    /// <summary>True when the path (links resolved) is one of the folders (links resolved) or inside one.</summary>
    internal static bool InAny(string path, IReadOnlyList<string> folders)
    {
        if (folders.Count == 0 || !System.IO.Path.IsPathRooted(path))
        {
            return false;
        }

        var real = RealPath(path);
        var comparison = OperatingSystem.IsWindows() ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal;
        return folders.Select(RealPath).Any(f => string.Equals(real, f, comparison)
            || real.StartsWith(System.IO.Path.TrimEndingDirectorySeparator(f) + System.IO.Path.DirectorySeparatorChar, comparison));
    }

    /// <summary>The full path with every symbolic link in it followed (as far as the path exists), so a link cannot lead out of a trusted folder.</summary>
    internal static string RealPath(string path, int depth = 0)
    {
        var full = System.IO.Path.TrimEndingDirectorySeparator(System.IO.Path.GetFullPath(path));
        if (depth > 32)
        {
            return full;
        }

        var root = System.IO.Path.GetPathRoot(full)!;
        var current = root;
        foreach (var part in full[root.Length..].Split(System.IO.Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries))
        {
            var next = System.IO.Path.Combine(current, part);
            FileSystemInfo info = Directory.Exists(next) ? new DirectoryInfo(next) : new FileInfo(next);
            current = info.Exists && info.LinkTarget is { } target
                ? RealPath(System.IO.Path.GetFullPath(target, current), depth + 1)
                : next;
        }

        return current;
    }
}

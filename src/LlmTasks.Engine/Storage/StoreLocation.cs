namespace LlmTasks.Storage;

/// <summary>
/// Where the task store lives: an explicit path, else $env:LLMTASKS_STORE, else the per-user
/// data folder ($XDG_DATA_HOME/LlmTasks/tasks.db, ~/.local/share/LlmTasks/tasks.db, or
/// %LOCALAPPDATA%\LlmTasks\tasks.db on Windows).
/// </summary>
public static class StoreLocation
{
    public const string EnvironmentVariable = "LLMTASKS_STORE";

    public static string Resolve(string? explicitPath = null)
    {
        var path = !string.IsNullOrWhiteSpace(explicitPath) ? explicitPath
            : Configuration.EngineEnvironment.Process.Raw(EnvironmentVariable) is { } fromEnv ? fromEnv
            : DefaultPath();
        return Path.GetFullPath(ExpandHome(path));
    }

    public static string DefaultPath()
    {
        if (OperatingSystem.IsWindows())
        {
            var local = Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData);
            return Path.Combine(RequireFolder(local, "LOCALAPPDATA"), "LlmTasks", "tasks.db");
        }

        var xdg = Configuration.EngineEnvironment.Process.Raw("XDG_DATA_HOME");
        if (!string.IsNullOrWhiteSpace(xdg) && Path.IsPathRooted(xdg))
        {
            return Path.Combine(xdg, "LlmTasks", "tasks.db");
        }

        var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        return Path.Combine(RequireFolder(home, "HOME"), ".local", "share", "LlmTasks", "tasks.db");
    }

    private static string ExpandHome(string path)
    {
        if (path == "~" || path.StartsWith("~/", StringComparison.Ordinal) || path.StartsWith("~\\", StringComparison.Ordinal))
        {
            var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
            return Path.Combine(RequireFolder(home, "HOME"), path.Length > 2 ? path[2..] : string.Empty);
        }

        return path;
    }

    private static string RequireFolder(string folder, string variable) =>
        !string.IsNullOrEmpty(folder) ? folder
        : throw new LlmTasksException(ErrorIds.StoreLocationUnknown, LlmErrorCategory.ObjectNotFound,
            $"Cannot find a folder for the task store: $env:{variable} is not set. Pass -StorePath or set $env:{EnvironmentVariable}.");
}

namespace LlmTasks.Storage;

/// <summary>
/// Which task store a command means: an explicit reference (a path, or a PostgreSQL URI or connection
/// string), else $env:LLMTASKS_STORE, else the per-user data folder ($XDG_DATA_HOME/LlmTasks/tasks.db,
/// ~/.local/share/LlmTasks/tasks.db, or %LOCALAPPDATA%\LlmTasks\tasks.db on Windows).
/// </summary>
public static class StoreLocation
{
    public const string EnvironmentVariable = "LLMTASKS_STORE";

    /// <summary>
    /// The store a reference names. A path given here is resolved with <paramref name="resolveFile"/> (PowerShell's
    /// current location) and made full; a URI or connection string is read by its backend, never as a path.
    /// </summary>
    public static StoreReference Resolve(string? explicitReference = null, Func<string, string>? resolveFile = null, StoreBackends? backends = null)
    {
        backends ??= StoreBackends.Default;
        string text;
        if (!string.IsNullOrWhiteSpace(explicitReference))
        {
            text = explicitReference.Trim();
            var backend = backends.Recognize(text);
            return backend.Parse(backend.UsesFiles ? FullPath(resolveFile is null ? text : resolveFile(text)) : text);
        }

        text = Configuration.EngineEnvironment.Process.Raw(EnvironmentVariable) is { } fromEnv && !string.IsNullOrWhiteSpace(fromEnv) ? fromEnv.Trim() : DefaultPath();
        var chosen = backends.Recognize(text);
        return chosen.Parse(chosen.UsesFiles ? FullPath(text) : text);
    }

    /// <summary>True when the store a reference names is there (a file, a database with the store's tables); nothing is created.</summary>
    public static bool Exists(StoreReference reference, StoreBackends? backends = null) => (backends ?? StoreBackends.Default).Exists(reference);

    /// <summary>True when the text is a file path (resolved against the current location), not a URI or connection string.</summary>
    public static bool IsFilePath(string text, StoreBackends? backends = null) => (backends ?? StoreBackends.Default).IsFilePath(text.Trim());

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

    private static string FullPath(string path) => Path.GetFullPath(ExpandHome(path));

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

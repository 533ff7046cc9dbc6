namespace LlmTasks.Host;

/// <summary>Finds the built module: $env:LLMTASKS_MODULE_PATH, else out/LlmTasks above the host's own folder.</summary>
internal static class ModuleLocator
{
    public const string Variable = "LLMTASKS_MODULE_PATH";

    public static string? Find()
    {
        if (Environment.GetEnvironmentVariable(Variable) is { Length: > 0 } configured)
        {
            return File.Exists(configured) ? Path.GetFullPath(configured) : null;
        }

        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            var candidate = Path.Combine(folder.FullName, "out", "LlmTasks", "LlmTasks.psd1");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }
}

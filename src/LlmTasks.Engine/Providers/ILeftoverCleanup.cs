namespace LlmTasks.Providers;

/// <summary>
/// A provider whose calls can leave things behind when their process is killed (the Claude Code CLI: processes, an MCP
/// config file, a work folder). A wait or worker that takes tasks over from a process that is gone lets it clean up.
/// </summary>
public interface ILeftoverCleanup
{
    /// <summary>Cleans up after processes on this machine that are gone; never touches what a live process uses.</summary>
    void CleanUpAfterGoneProcesses();
}

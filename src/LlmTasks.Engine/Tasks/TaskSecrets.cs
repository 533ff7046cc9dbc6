namespace LlmTasks;

/// <summary>
/// Secrets a task needs while it runs (a per-task API key). Held in this process's memory only:
/// never stored, never in attempts, errors or output. A task picked up by another process runs
/// with that process's environment instead.
/// </summary>
public sealed record TaskSecrets(string? ApiKey)
{
    public override string ToString() => "TaskSecrets { ApiKey = *** }";
}

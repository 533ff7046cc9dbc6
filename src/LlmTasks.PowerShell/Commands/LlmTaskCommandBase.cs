using System.Management.Automation;
using LlmTasks.Execution;
using LlmTasks.PowerShell.Internal;

namespace LlmTasks.PowerShell.Commands;

/// <summary>
/// What every LlmTasks cmdlet shares: -StorePath (relative to the current location), the store's
/// task manager, and a cancellation token that Ctrl+C (StopProcessing) cancels.
/// </summary>
public abstract class LlmTaskCommandBase : PSCmdlet, IDisposable
{
    private readonly CancellationTokenSource _stopping = new();

    /// <summary>The task store file; default $env:LLMTASKS_STORE, else the per-user data folder.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? StorePath { get; set; }

    protected CancellationToken PipelineStopping => _stopping.Token;

    protected override void StopProcessing() => _stopping.Cancel();

    /// <summary>The manager of a store (this cmdlet's -StorePath unless given); store errors end the cmdlet.</summary>
    protected TaskManager Manager(string? storePath = null)
    {
        var path = storePath ?? StorePath;
        try
        {
            var manager = TaskManagers.Get(path is null ? null : SessionState.Path.GetUnresolvedProviderPathFromPSPath(path));
            foreach (var fault in manager.TakeFaults())
            {
                WriteWarning($"Background work on the task store '{manager.StorePath}' failed: {fault} Affected tasks run again once their leases expire.");
            }

            return manager;
        }
        catch (LlmTasksException e)
        {
            ThrowTerminatingError(ErrorRecords.From(e));
            throw; // not reached
        }
    }

    protected void WriteError(LlmTasksException e) => WriteError(ErrorRecords.From(e));

    public void Dispose()
    {
        _stopping.Dispose();
        GC.SuppressFinalize(this);
    }
}

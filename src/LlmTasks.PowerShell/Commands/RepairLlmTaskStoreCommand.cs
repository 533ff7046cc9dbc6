using System.Management.Automation;
using LlmTasks.PowerShell.Internal;
using LlmTasks.Storage;

namespace LlmTasks.PowerShell.Commands;

/// <summary>
/// Saves what can still be read from a damaged store: copies every readable task (with its attempts
/// and check results, ids kept) into a new store at -Destination, reading the damaged file read-only
/// and leaving it untouched. Writes one summary: what was recovered and what was lost.
/// </summary>
[Cmdlet(VerbsDiagnostic.Repair, "LlmTaskStore", SupportsShouldProcess = true)]
[OutputType(typeof(StoreRecoveryResult))]
public sealed class RepairLlmTaskStoreCommand : LlmTaskCommandBase
{
    /// <summary>The new store to write (a path, or a PostgreSQL database without the store's tables); it must not exist yet.</summary>
    [Parameter(Mandatory = true, Position = 0)]
    [ValidateNotNullOrEmpty]
    public string Destination { get; set; } = string.Empty;

    protected override void EndProcessing()
    {
        try
        {
            var source = StoreLocation.Resolve(StorePath, ResolveStore);
            var destination = StoreLocation.Resolve(Destination, ResolveStore);
            if (ShouldProcess(destination.Display, $"Copy the readable tasks of '{source}' into a new store"))
            {
                WriteObject(StoreRecovery.Recover(source, destination));
            }
        }
        catch (LlmTasksException e)
        {
            ThrowTerminatingError(ErrorRecords.From(e));
        }
    }
}

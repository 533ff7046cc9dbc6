using System.Management.Automation;
using System.Management.Automation.Runspaces;
using System.Runtime.CompilerServices;
using LlmTasks.Execution;
using LlmTasks.PowerShell.Internal;

namespace LlmTasks.PowerShell;

/// <summary>
/// On import: route the engine into its own load context. Importing runs no task: work left in a
/// store runs where someone asks for it (a wait on those tasks, or Invoke-LlmTaskWorker).
/// When the last runspace using the module closes, or Remove-Module runs in it: hand this process's
/// unfinished work back to the store, stop its task boards, and close the script-check runspaces
/// (<see cref="ModuleRunspaces"/>), so an embedding host can exit.
/// </summary>
public sealed class ModuleLifetime : IModuleAssemblyInitializer, IModuleAssemblyCleanup
{
    public void OnImport()
    {
        EngineLoadContext.Register();
        ModuleRunspaces.Configure(RegisterVerificationServices, ShutdownEngine);
        ModuleRunspaces.Add(Runspace.DefaultRunspace);
    }

    public void OnRemove(PSModuleInfo psModuleInfo) => ModuleRunspaces.Remove(Runspace.DefaultRunspace);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ShutdownEngine()
    {
        Board.TaskBoards.StopAll();
        TaskManagers.ShutdownAll();
        (Verification.VerificationServices.Default.ScriptRunner as IDisposable)?.Dispose();
    }

    /// <summary>The PowerShell parser for Code checks and module-owned runspaces for script-block checks.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void RegisterVerificationServices() =>
        Verification.VerificationServices.Default = new(new PowerShellCodeParser(), new ScriptCheckRunner());
}

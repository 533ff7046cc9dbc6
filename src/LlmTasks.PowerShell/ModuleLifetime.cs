using System.Management.Automation;
using System.Runtime.CompilerServices;
using LlmTasks.Execution;

namespace LlmTasks.PowerShell;

/// <summary>
/// On import: route the engine into its own load context. Importing runs no task: work left in a
/// store runs where someone asks for it (a wait on those tasks, or Invoke-LlmTaskWorker).
/// On Remove-Module: hand this process's unfinished work back to the store.
/// </summary>
public sealed class ModuleLifetime : IModuleAssemblyInitializer, IModuleAssemblyCleanup
{
    public void OnImport()
    {
        EngineLoadContext.Register();
        RegisterVerificationServices();
    }

    public void OnRemove(PSModuleInfo psModuleInfo) => ShutdownEngine();

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ShutdownEngine()
    {
        TaskManagers.ShutdownAll();
        (Verification.VerificationServices.Default.ScriptRunner as IDisposable)?.Dispose();
    }

    /// <summary>The PowerShell parser for Code checks and a module-owned runspace pool for script-block checks.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void RegisterVerificationServices() =>
        Verification.VerificationServices.Default = new(new Internal.PowerShellCodeParser(), new Internal.ScriptCheckRunner());
}

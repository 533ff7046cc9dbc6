using System.Management.Automation;
using System.Management.Automation.Runspaces;
using System.Runtime.CompilerServices;
using LlmTasks.Execution;
using LlmTasks.PowerShell.Internal;

namespace LlmTasks.PowerShell;

/// <summary>
/// On import: route the engine into its own load context, then resume work left in the default
/// store by earlier sessions. When the last runspace using the module closes, or Remove-Module runs
/// in it: hand this process's unfinished work back to the store and close the script-check runspaces
/// (<see cref="ModuleRunspaces"/>), so an embedding host can exit.
/// </summary>
public sealed class ModuleLifetime : IModuleAssemblyInitializer, IModuleAssemblyCleanup
{
    public void OnImport()
    {
        EngineLoadContext.Register();
        ModuleRunspaces.Configure(RegisterVerificationServices, ShutdownEngine);
        ModuleRunspaces.Add(Runspace.DefaultRunspace);
        ResumeDefaultStore();
    }

    public void OnRemove(PSModuleInfo psModuleInfo) => ModuleRunspaces.Remove(Runspace.DefaultRunspace);

    // Kept out of line so that the engine assembly is first touched after the resolver is registered.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ResumeDefaultStore()
    {
        try
        {
            TaskManagers.ResumeDefaultStore();
        }
        catch (LlmTasksException)
        {
            // A broken default store must not break Import-Module; the first cmdlet that uses it reports the error.
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ShutdownEngine()
    {
        TaskManagers.ShutdownAll();
        (Verification.VerificationServices.Default.ScriptRunner as IDisposable)?.Dispose();
    }

    /// <summary>The PowerShell parser for Code checks and module-owned runspaces for script-block checks.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void RegisterVerificationServices() =>
        Verification.VerificationServices.Default = new(new PowerShellCodeParser(), new ScriptCheckRunner());
}

using System.Management.Automation;
using System.Runtime.CompilerServices;
using LlmTasks.Execution;

namespace LlmTasks.PowerShell;

/// <summary>
/// On import: route the engine into its own load context, then resume work left in the default
/// store by earlier sessions. On Remove-Module: hand this process's unfinished work back to the store.
/// </summary>
public sealed class ModuleLifetime : IModuleAssemblyInitializer, IModuleAssemblyCleanup
{
    public void OnImport()
    {
        EngineLoadContext.Register();
        RegisterVerificationServices();
        ResumeDefaultStore();
    }

    public void OnRemove(PSModuleInfo psModuleInfo) => ShutdownEngine();

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

    /// <summary>The PowerShell parser for Code checks and a module-owned runspace pool for script-block checks.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void RegisterVerificationServices() =>
        Verification.VerificationServices.Default = new(new Internal.PowerShellCodeParser(), new Internal.ScriptCheckRunner());
}

using System.Collections.ObjectModel;
using System.Management.Automation;
using System.Management.Automation.Runspaces;

namespace LlmTasks.PowerShell.Tests;

/// <summary>
/// A runspace of the real PowerShell engine with the built module imported and every LlmTasks
/// cmdlet pointed at a private store through $PSDefaultParameterValues, as a user would set it.
/// </summary>
public sealed class PowerShellSession : IDisposable
{
    private readonly Runspace _runspace;

    public PowerShellSession(string? storePath = null)
    {
        Folder = Path.Combine(Path.GetTempPath(), "llmtasks-pstests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Folder);
        StorePath = storePath ?? Path.Combine(Folder, "tasks.db");
        var state = InitialSessionState.CreateDefault2();
        state.ImportPSModule(Repo.ModuleManifest);
        _runspace = RunspaceFactory.CreateRunspace(state);
        _runspace.Open();
        Run("$PSDefaultParameterValues['*-Llm*:StorePath'] = $args[0]", StorePath);
    }

    public string Folder { get; }
    public string StorePath { get; }

    /// <summary>Runs script text; returns what it wrote and the errors it wrote (non-terminating ones too).</summary>
    public Result Run(string script, params object?[] arguments)
    {
        using var shell = System.Management.Automation.PowerShell.Create();
        shell.Runspace = _runspace;
        shell.AddScript(script);
        foreach (var argument in arguments)
        {
            shell.AddArgument(argument);
        }

        Collection<PSObject> output;
        RuntimeException? terminating = null;
        try
        {
            output = shell.Invoke();
        }
        catch (RuntimeException e)
        {
            output = [];
            terminating = e;
        }

        return new Result(output, shell.Streams.Error.ToList(), terminating, shell.Streams.Progress.ToList());
    }

    /// <summary>Starts script text without waiting, for Ctrl+C (Stop) tests.</summary>
    public System.Management.Automation.PowerShell Begin(string script, out IAsyncResult pending)
    {
        var shell = System.Management.Automation.PowerShell.Create();
        shell.Runspace = _runspace;
        shell.AddScript(script);
        pending = shell.BeginInvoke();
        return shell;
    }

    public void Dispose()
    {
        _runspace.Dispose();
        try
        {
            Directory.Delete(Folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    public sealed record Result(IReadOnlyList<PSObject> Output, IReadOnlyList<ErrorRecord> Errors, RuntimeException? Terminating, IReadOnlyList<ProgressRecord> Progress)
    {
        public Result Ok()
        {
            Assert.True(Terminating is null, "terminating error: " + Terminating?.ErrorRecord);
            Assert.True(Errors.Count == 0, "errors: " + string.Join(" | ", Errors.Select(e => e.FullyQualifiedErrorId + ": " + e)));
            return this;
        }

        public T Single<T>() => (T)Assert.Single(Output).BaseObject;

        public object? Property(int index, string name) => Output[index].Properties[name]?.Value;
    }
}

using System.Collections.ObjectModel;
using System.Management.Automation;
using System.Management.Automation.Runspaces;

namespace LlmTasks.Bench;

/// <summary>A runspace of the real PowerShell engine with the built module imported, as a user's pwsh has it.</summary>
internal sealed class PsSession : IDisposable
{
    private readonly Runspace _runspace;

    public PsSession()
    {
        var state = InitialSessionState.CreateDefault2();
        state.ImportPSModule(Repo.ModuleManifest);
        _runspace = RunspaceFactory.CreateRunspace(state);
        _runspace.Open();
    }

    /// <summary>Runs script text with positional arguments; any error (terminating or not) fails the benchmark.</summary>
    public Collection<PSObject> Run(string script, params object?[] arguments)
    {
        using var shell = PowerShell.Create();
        shell.Runspace = _runspace;
        shell.AddScript(script);
        foreach (var argument in arguments)
        {
            shell.AddArgument(argument);
        }

        var output = shell.Invoke();
        if (shell.Streams.Error.Count > 0)
        {
            throw new InvalidOperationException("The script wrote errors: " + string.Join(" | ",
                shell.Streams.Error.Take(3).Select(e => e.FullyQualifiedErrorId + ": " + e)));
        }

        return output;
    }

    /// <summary>Runs a script that returns one number per value, e.g. "@($a, $b)".</summary>
    public double[] Numbers(string script, params object?[] arguments) =>
        Run(script, arguments).Select(o => Convert.ToDouble(o.BaseObject, System.Globalization.CultureInfo.InvariantCulture)).ToArray();

    public void Dispose() => _runspace.Dispose();
}

/// <summary>Paths in the repository.</summary>
internal static class Repo
{
    public static string Root { get; } = FindRoot();

    public static string ModuleManifest => Path.Combine(Root, "out", "LlmTasks", "LlmTasks.psd1");

    private static string FindRoot()
    {
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            if (File.Exists(Path.Combine(folder.FullName, "Engine.sln")))
            {
                return folder.FullName;
            }
        }

        throw new InvalidOperationException("Cannot find the repository root (Engine.sln) above " + AppContext.BaseDirectory);
    }
}

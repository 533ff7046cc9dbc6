using System.Management.Automation;
using System.Management.Automation.Runspaces;
using LlmTasks.Host;

// Usage: LlmTasks.Host [-File] <script.ps1> [arguments…]
//        LlmTasks.Host -Command '<script text>'
// Runs the script in the PowerShell engine with the LlmTasks module imported and prints what it
// writes as pwsh would (the module's table and list views included). Exit code 1 when it wrote errors.
if (args.Length == 0 || args[0] is "-h" or "--help" or "-?")
{
    Console.Error.WriteLine("usage: LlmTasks.Host [-File] <script.ps1> [args…] | -Command '<script>'");
    return 2;
}

var modulePath = ModuleLocator.Find();
if (modulePath is null)
{
    Console.Error.WriteLine($"Cannot find the built module (out/LlmTasks/LlmTasks.psd1). Build first: dotnet build Engine.sln -c Release, or set ${ModuleLocator.Variable}.");
    return 2;
}

var host = new ScriptHost();
var state = InitialSessionState.CreateDefault2();
state.ImportPSModule(modulePath);
using var runspace = RunspaceFactory.CreateRunspace(host, state);
runspace.Open();
using var shell = PowerShell.Create(runspace);

var isCommand = args[0].Equals("-Command", StringComparison.OrdinalIgnoreCase) || args[0].Equals("-c", StringComparison.OrdinalIgnoreCase);
if (isCommand)
{
    shell.AddScript(string.Join(' ', args.Skip(1)));
}
else
{
    var rest = args[0].Equals("-File", StringComparison.OrdinalIgnoreCase) ? args.Skip(1).ToArray() : args;
    shell.AddCommand(Path.GetFullPath(rest[0]));
    foreach (var argument in rest.Skip(1))
    {
        shell.AddArgument(argument);
    }
}

shell.Commands.Commands[0].MergeMyResults(PipelineResultTypes.Error, PipelineResultTypes.Output);
shell.AddCommand("Out-Default");
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    shell.BeginStop(null, null);
};

try
{
    shell.Invoke();
}
catch (RuntimeException e)
{
    Console.Error.WriteLine(e.ErrorRecord?.ToString() ?? e.Message);
    return 1;
}

// As pwsh: a script (-File) exits 0 unless it threw or set an exit code; -Command exits 1 when it wrote errors.
if (host.ExitCode is { } exitCode)
{
    return exitCode;
}

if (runspace.SessionStateProxy.GetVariable("LASTEXITCODE") is int last && last != 0)
{
    return last;
}

return isCommand && shell.HadErrors ? 1 : 0;

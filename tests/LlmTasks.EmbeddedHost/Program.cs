using System.Management.Automation;
using System.Management.Automation.Runspaces;

// Usage: LlmTasks.EmbeddedHost <module manifest> <store path> one|two|remove
// Writes one "key=value" line per step, so the test can tell how far it got.
if (args.Length != 3)
{
    Console.Error.WriteLine("usage: LlmTasks.EmbeddedHost <module manifest> <store path> one|two|remove");
    return 2;
}

var (manifest, store, mode) = (args[0], args[1], args[2]);

// The check sleeps while $env:LLMTASKS_TEST_SLOW_CHECK is set (in this process), so it is still running when the
// runspace closes; a later process without the variable passes it at once. Only core cmdlets exist in a host that
// references System.Management.Automation alone (no Start-Sleep), so it sleeps in short steps a stop can end.
const string SlowCheck = "{ param($Output) if ($env:LLMTASKS_TEST_SLOW_CHECK) { foreach ($i in 1..600) { [System.Threading.Thread]::Sleep(100) } }; $true }";

Runspace Open()
{
    var runspace = RunspaceFactory.CreateRunspace(InitialSessionState.CreateDefault2());
    runspace.Open();
    Run(runspace, "Import-Module -Name $args[0]; $PSDefaultParameterValues['*-Llm*:StorePath'] = $args[1]", manifest, store);
    return runspace;
}

switch (mode)
{
    case "one":
    {
        var runspace = Open();
        Report("verified", Run(runspace, "'abc' | Invoke-LlmVerification -Verify { param($Output) $Output -eq 'abc' } -Quiet"));
        Report("started", Run(runspace, $"@(1..4 | ForEach-Object {{ \"slow $_\" }} | Start-LlmTask -Model mock/echo -Name embedded -Verify {SlowCheck}).Count"));
        Report("running", WaitUntilRunning(runspace, "embedded", 4));
        runspace.Dispose(); // closes it: the module must release what it started
        Report("closed", "yes");
        break;
    }

    case "two":
    {
        var first = Open();
        var second = Open();
        Report("started", Run(first, $"@(Start-LlmTask 'slow' -Model mock/echo -Name first -Verify {SlowCheck}).Count"));
        Report("running", WaitUntilRunning(first, "first", 1));
        first.Dispose();
        Report("first-closed", "yes");
        Report("first-still-running", Run(second, "@(Get-LlmTask -Name first | Where-Object State -eq Running).Count"));
        // The second runspace still uses the module: its checks and tasks keep working.
        Report("second-verified", Run(second, "'abc' | Invoke-LlmVerification -Verify { param($Output) $Output -eq 'abc' } -Quiet"));
        Report("second-task", Run(second, "(Start-LlmTask 'quick' -Model mock/echo -Name second -Verify { param($Output) $Output -eq 'quick' } -Wait).State"));
        second.Dispose();
        Report("closed", "yes");
        break;
    }

    case "remove":
    {
        var runspace = Open();
        Report("started", Run(runspace, $"@(1..2 | ForEach-Object {{ \"slow $_\" }} | Start-LlmTask -Model mock/echo -Name removed -Verify {SlowCheck}).Count"));
        Report("running", WaitUntilRunning(runspace, "removed", 2));
        Run(runspace, "Remove-Module LlmTasks");
        Report("removed", "yes");
        // The runspace stays open (a host that only removes the module): the process must still be free to exit.
        break;
    }

    default:
        Console.Error.WriteLine($"unknown mode {mode}");
        return 2;
}

Report("main-returns", "yes");
return 0;

static string Run(Runspace runspace, string script, params object[] arguments)
{
    using var shell = PowerShell.Create();
    shell.Runspace = runspace;
    shell.AddScript(script);
    foreach (var argument in arguments)
    {
        shell.AddArgument(argument);
    }

    var output = shell.Invoke();
    foreach (var error in shell.Streams.Error)
    {
        Console.Error.WriteLine(error);
    }

    return string.Join(",", output.Select(o => o?.ToString()));
}

static string WaitUntilRunning(Runspace runspace, string name, int count)
{
    // Running: the mock call answered and the slow check is under way.
    for (var i = 0; i < 300; i++)
    {
        if (Run(runspace, "@(Get-LlmTask -Name $args[0] | Where-Object State -eq Running).Count", name) == count.ToString())
        {
            return count.ToString();
        }

        Thread.Sleep(100);
    }

    return "timeout";
}

static void Report(string key, string value)
{
    Console.WriteLine($"{key}={value}");
    Console.Out.Flush();
}

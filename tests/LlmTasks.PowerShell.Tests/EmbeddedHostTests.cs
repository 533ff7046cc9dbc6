using System.Diagnostics;

namespace LlmTasks.PowerShell.Tests;

/// <summary>
/// A program that embeds PowerShell (tests/LlmTasks.EmbeddedHost) imports the module, runs script-block
/// checks, closes its runspace (or removes the module) and returns from Main: it must exit, and the tasks
/// whose checks were cut short must be back in the store as Pending work with an Interrupted attempt,
/// never a false NeedsReview. Several runspaces in one process share the module: only the last one to
/// close releases it.
/// </summary>
public sealed class EmbeddedHostTests : IDisposable
{
    private const int ExitBoundSeconds = 60; // the checks sleep 60 s: a host kept alive by them, or by a runspace pool, fails
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "llmtasks-host", Guid.NewGuid().ToString("N"));

    public EmbeddedHostTests() => Directory.CreateDirectory(_folder);

    public void Dispose()
    {
        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    [Fact]
    public void A_host_that_closes_its_runspace_exits_and_its_interrupted_checks_go_back_to_Pending()
    {
        var store = Path.Combine(_folder, "one.db");
        var output = RunHost("one", store);
        Assert.Contains("verified=True", output);
        Assert.Contains("started=4", output);
        Assert.Contains("running=4", output);
        Assert.Contains("main-returns=yes", output);

        var db = new StoreInspector(store);
        Assert.Equal(4L, db.Scalar<long>("SELECT count(*) FROM tasks WHERE name = 'embedded' AND state = 'Pending' AND lease_owner IS NULL"));
        Assert.Equal(0L, db.Scalar<long>("SELECT count(*) FROM attempts WHERE outcome <> 'Interrupted'"));
        Assert.Equal(4L, db.Scalar<long>("SELECT count(DISTINCT task_id) FROM attempts WHERE outcome = 'Interrupted'"));

        // The next process that may run stored script blocks completes them (its checks do not sleep).
        var next = Pwsh.Command("$env:LLMTASKS_RUN_STORED_SCRIPTS = 1; (Get-LlmTask -Name embedded | Wait-LlmTask -Timeout 60).State | Sort-Object -Unique", store);
        Assert.True(next.ExitCode == 0, next.Errors);
        Assert.Equal("Completed", next.Output.Trim());
        Assert.Equal(4L, db.Scalar<long>("SELECT count(*) FROM attempts WHERE outcome = 'Succeeded'"));
    }

    [Fact]
    public void Closing_one_of_two_runspaces_keeps_the_module_working_and_the_last_one_releases_it()
    {
        var store = Path.Combine(_folder, "two.db");
        var output = RunHost("two", store);
        Assert.Contains("running=1", output);
        Assert.Contains("first-still-running=1", output); // nothing was handed back while the second runspace used the module
        Assert.Contains("second-verified=True", output);
        Assert.Contains("second-task=Completed", output);
        Assert.Contains("main-returns=yes", output);

        var db = new StoreInspector(store);
        Assert.Equal(1L, db.Scalar<long>("SELECT count(*) FROM tasks WHERE name = 'first' AND state = 'Pending' AND lease_owner IS NULL"));
        Assert.Equal(0L, db.Scalar<long>("SELECT count(*) FROM tasks WHERE state = 'NeedsReview'"));
        Assert.Equal(1L, db.Scalar<long>("SELECT count(*) FROM tasks WHERE name = 'second' AND state = 'Completed'"));
    }

    [Fact]
    public void Remove_Module_releases_everything_so_the_host_exits_with_its_runspace_still_open()
    {
        var store = Path.Combine(_folder, "remove.db");
        var output = RunHost("remove", store);
        Assert.Contains("running=2", output);
        Assert.Contains("main-returns=yes", output);
        var db = new StoreInspector(store);
        Assert.Equal(2L, db.Scalar<long>("SELECT count(*) FROM tasks WHERE name = 'removed' AND state = 'Pending' AND lease_owner IS NULL"));
        Assert.Equal(0L, db.Scalar<long>("SELECT count(*) FROM tasks WHERE state = 'NeedsReview'"));
    }

    private static string RunHost(string mode, string store)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Path.GetDirectoryName(store)!,
        };
        start.ArgumentList.Add(Repo.EmbeddedHostDll);
        start.ArgumentList.Add(Repo.ModuleManifest);
        start.ArgumentList.Add(store);
        start.ArgumentList.Add(mode);
        start.Environment["LLMTASKS_STORE"] = store; // importing resumes the default store: never the user's own
        start.Environment["LLMTASKS_TEST_SLOW_CHECK"] = "1";
        start.Environment["POWERSHELL_TELEMETRY_OPTOUT"] = "1";
        start.Environment["POWERSHELL_UPDATECHECK"] = "Off";
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromSeconds(ExitBoundSeconds)))
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
            Assert.Fail($"The host did not exit within {ExitBoundSeconds} s after closing its runspace.\n{output.Result}\n{errors.Result}");
        }

        Assert.True(process.ExitCode == 0, $"exit code {process.ExitCode}\n{output.Result}\n{errors.Result}");
        Assert.Equal(string.Empty, errors.Result.Trim());
        return output.Result;
    }
}

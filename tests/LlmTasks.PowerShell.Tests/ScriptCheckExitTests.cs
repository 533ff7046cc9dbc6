namespace LlmTasks.PowerShell.Tests;

/// <summary>
/// A real pwsh process that exits normally while script-block checks run: the checks are cut short, not
/// failed, so no task becomes NeedsReview; every task is Pending again (the checked ones with an Interrupted
/// attempt), and the next process completes them all.
/// </summary>
public sealed class ScriptCheckExitTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "llmtasks-exit", Guid.NewGuid().ToString("N"));

    public ScriptCheckExitTests() => Directory.CreateDirectory(_folder);

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
    public void A_normal_exit_while_script_block_checks_run_hands_the_tasks_back_instead_of_failing_them()
    {
        var store = Path.Combine(_folder, "tasks.db");
        // The check sleeps only where $env:LLMTASKS_TEST_SLOW_CHECK is set: in this first process.
        var first = Pwsh.Command("""
            $check = { param($Output) if ($env:LLMTASKS_TEST_SLOW_CHECK) { Start-Sleep -Seconds 30 }; $true }
            $null = 1..20 | ForEach-Object { "prompt $_" } | Start-LlmTask -Model mock/echo -Name exiting -Verify $check -ThrottleLimit 8
            $deadline = [DateTime]::UtcNow.AddSeconds(60)
            while (@(Get-LlmTask -Name exiting | Where-Object State -eq Running).Count -lt 8 -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 100 }
            "running=$(@(Get-LlmTask -Name exiting | Where-Object State -eq Running).Count)"
            """, store, environment: new Dictionary<string, string?> { ["LLMTASKS_TEST_SLOW_CHECK"] = "1" });
        Assert.True(first.ExitCode == 0, first.Output + first.Errors);
        Assert.Contains("running=8", first.Output); // the mock answered at once: these 8 were being checked when pwsh exited

        var db = new StoreInspector(store);
        Assert.Equal(0L, db.Scalar<long>("SELECT count(*) FROM tasks WHERE state = 'NeedsReview'"));
        Assert.Equal(20L, db.Scalar<long>("SELECT count(*) FROM tasks WHERE state = 'Pending' AND lease_owner IS NULL"));
        Assert.Equal(0L, db.Scalar<long>("SELECT count(*) FROM attempts WHERE outcome <> 'Interrupted'"));
        Assert.Equal(8L, db.Scalar<long>("SELECT count(DISTINCT task_id) FROM attempts WHERE outcome = 'Interrupted'"));

        var second = Pwsh.Command("""
            $env:LLMTASKS_RUN_STORED_SCRIPTS = 1
            $done = Get-LlmTask -Name exiting | Wait-LlmTask -Timeout 120
            "completed=$(@($done | Where-Object State -eq Completed).Count)"
            """, store);
        Assert.True(second.ExitCode == 0, second.Output + second.Errors);
        Assert.Contains("completed=20", second.Output);
        Assert.Equal(20L, db.Scalar<long>("SELECT count(*) FROM attempts WHERE outcome = 'Succeeded'"));
        Assert.Equal(0L, db.Scalar<long>("SELECT count(*) FROM checks WHERE passed = 0"));
    }
}

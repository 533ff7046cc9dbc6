namespace LlmTasks.PowerShell.Tests;

/// <summary>Separate processes on one store, as a user closing one shell and opening another.</summary>
public sealed class ProcessTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "llmtasks-proc", Guid.NewGuid().ToString("N"));

    public ProcessTests() => Directory.CreateDirectory(_folder);

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
    public void Tasks_started_by_a_process_that_exits_are_found_and_completed_by_the_next_one()
    {
        var store = Path.Combine(_folder, "tasks.db");
        var first = Pwsh.Command("$t = 1..200 | ForEach-Object { \"task $_\" } | Start-LlmTask -Model mock/delay:100 -Name handoff; \"started=$($t.Count)\"", store);
        Assert.True(first.ExitCode == 0, first.Errors);
        Assert.Contains("started=200", first.Output);

        var second = Pwsh.Command("""
            $found = Get-LlmTask -Name handoff
            "found=$($found.Count)"
            $done = $found | Wait-LlmTask
            "completed=$(@($done | Where-Object State -eq 'Completed').Count)"
            "distinct-outputs=$([System.Collections.Generic.HashSet[string]]::new([string[]]$done.Output).Count)"
            "pending-or-running=$(@(Get-LlmTask -State Pending, Running).Count)"
            """, store);
        Assert.True(second.ExitCode == 0, second.Errors);
        Assert.Contains("found=200", second.Output);
        Assert.Contains("completed=200", second.Output);
        Assert.Contains("distinct-outputs=200", second.Output);
        Assert.Contains("pending-or-running=0", second.Output);
    }

    [Fact]
    public void The_quickstart_runs_in_real_pwsh_and_shows_tasks_started_waited_and_received()
    {
        var result = Pwsh.File(Path.Combine(Repo.Root, "examples", "quickstart.ps1"),
            new Dictionary<string, string?> { ["LLMTASKS_STORE"] = Path.Combine(_folder, "quickstart.db") });
        Assert.True(result.ExitCode == 0, result.Output + result.Errors);
        Assert.Contains("State", result.Output);
        Assert.Contains("Completed", result.Output);
        Assert.Matches(@"(?m)^\s+Id Name\s+State\s+Model\s+Duration Output", result.Output);
        Assert.DoesNotContain("\u001b[", result.Output);
    }
}

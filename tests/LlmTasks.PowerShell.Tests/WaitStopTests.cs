using System.Management.Automation;

namespace LlmTasks.PowerShell.Tests;

public sealed class WaitStopTests : IDisposable
{
    private readonly PowerShellSession _ps = new();

    public void Dispose() => _ps.Dispose();

    [Fact]
    public void Wait_timeout_writes_the_finished_tasks_and_one_OperationTimeout_error_naming_the_rest()
    {
        var result = _ps.Run("""
            $fast = Start-LlmTask 'fast' -Model mock/echo -Name fast
            $slow = Start-LlmTask 'slow' -Model mock/delay:30000 -Name slow
            $fast, $slow | Wait-LlmTask -Timeout 1
            """);
        Assert.Equal(["fast"], result.Output.Select(o => o.Properties["Name"].Value));
        var error = Assert.Single(result.Errors);
        Assert.Equal("LlmTaskWaitTimeout,LlmTasks.PowerShell.Commands.WaitLlmTaskCommand", error.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.OperationTimeout, error.CategoryInfo.Category);
        Assert.Contains("'slow'", error.Exception.Message);
        Assert.DoesNotContain("'fast'", error.Exception.Message);

        var stopped = _ps.Run("try { Get-LlmTask -Name slow | Wait-LlmTask -TimeoutSec 0 -ErrorAction Stop; 'not reached' } catch { $_.FullyQualifiedErrorId }");
        Assert.Equal("LlmTaskWaitTimeout,LlmTasks.PowerShell.Commands.WaitLlmTaskCommand", Assert.Single(stopped.Output).ToString());
    }

    [Fact]
    public void Wait_with_no_time_left_still_returns_the_tasks_already_finished()
    {
        var result = _ps.Run("$t = 'a', 'b' | Start-LlmTask -Model mock/echo -Wait; $t | Wait-LlmTask -Timeout 0").Ok();
        Assert.Equal(2, result.Output.Count);
    }

    [Fact]
    public void Wait_Any_returns_the_first_task_to_finish()
    {
        var result = _ps.Run("""
            $tasks = 'mock/delay:20000', 'mock/delay:50' | ForEach-Object { Start-LlmTask $_ -Model $_ }
            $tasks | Wait-LlmTask -Any
            """).Ok();
        Assert.Equal("mock/delay:50", Assert.Single(result.Output).Properties["Model"].Value);
    }

    [Fact]
    public void Wait_shows_progress_while_it_waits()
    {
        var result = _ps.Run("1..20 | ForEach-Object { \"p$_\" } | Start-LlmTask -Model mock/delay:100 | Wait-LlmTask").Ok();
        Assert.Equal(20, result.Output.Count);
        Assert.Contains(result.Progress, p => p.StatusDescription.EndsWith("of 20 finished", StringComparison.Ordinal));
        Assert.Equal(ProgressRecordType.Completed, result.Progress[^1].RecordType);
    }

    [Fact]
    public void Ctrl_C_stops_Wait_promptly_but_not_the_task()
    {
        var id = _ps.Run("(Start-LlmTask 'long' -Model mock/delay:60000).Id").Ok().Single<long>();
        using var shell = _ps.Begin($"Wait-LlmTask -Id {id}", out var pending);
        Thread.Sleep(300);
        Assert.False(pending.IsCompleted);
        var stopping = System.Diagnostics.Stopwatch.StartNew();
        shell.Stop();
        Assert.True(pending.AsyncWaitHandle.WaitOne(TimeSpan.FromSeconds(5)), "Wait-LlmTask did not stop");
        Assert.True(stopping.Elapsed < TimeSpan.FromSeconds(5));
        Assert.Equal(PSInvocationState.Stopped, shell.InvocationStateInfo.State);
        var state = _ps.Run("(Get-LlmTask -Id $args[0]).State", id).Ok().Single<object>().ToString();
        Assert.Contains(state, new[] { "Pending", "Running" });
    }

    [Fact]
    public void Stop_cancels_running_and_pending_tasks_and_PassThru_shows_them_cancelled()
    {
        var result = _ps.Run("""
            $tasks = 1..3 | ForEach-Object { Start-LlmTask "t$_" -Model mock/delay:60000 -ThrottleLimit 2 }
            [System.Threading.Thread]::Sleep(200)
            $tasks | Stop-LlmTask -PassThru
            """);
        Assert.Empty(result.Errors);
        Assert.Equal(3, result.Output.Count);
        Assert.All(result.Output, o => Assert.Equal("Cancelled", o.Properties["State"].Value.ToString()));
        var received = _ps.Run("Get-LlmTask | Receive-LlmTask");
        Assert.All(received.Errors, e => Assert.StartsWith("LlmTaskCancelled,", e.FullyQualifiedErrorId));
        Assert.Equal(3, received.Errors.Count);
    }

    [Fact]
    public void Stop_WhatIf_changes_nothing()
    {
        var result = _ps.Run("$t = Start-LlmTask 'x' -Model mock/delay:60000; $t | Stop-LlmTask -WhatIf; ($t | Get-LlmTask).State").Ok();
        Assert.NotEqual("Cancelled", result.Output.Single().ToString());
        _ps.Run("Get-LlmTask | Stop-LlmTask").Ok();
    }

    [Fact]
    public void Remove_refuses_an_unfinished_task_without_Force_and_stops_it_first_with_Force()
    {
        var refused = _ps.Run("$t = Start-LlmTask 'x' -Model mock/delay:60000 -Name busy; $t | Remove-LlmTask; (Get-LlmTask -Name busy).Count");
        Assert.Equal(1, Assert.Single(refused.Output).BaseObject);
        var error = Assert.Single(refused.Errors);
        Assert.Equal("LlmTaskActive,LlmTasks.PowerShell.Commands.RemoveLlmTaskCommand", error.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.InvalidOperation, error.CategoryInfo.Category);

        _ps.Run("Get-LlmTask -Name busy | Remove-LlmTask -Force").Ok();
        Assert.Empty(_ps.Run("Get-LlmTask").Ok().Output);
    }
}

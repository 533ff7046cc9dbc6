using System.Management.Automation;

namespace LlmTasks.PowerShell.Tests;

public sealed class SelectionTests : IDisposable
{
    private readonly PowerShellSession _ps = new();

    public SelectionTests()
    {
        _ps.Run("""
            Start-LlmTask 'a' -Model mock/echo -Name alpha-1 -Wait
            Start-LlmTask 'b' -Model mock/fail -Name alpha-2 -Wait
            Start-LlmTask 'c' -Model mock/echo -Name beta -Wait
            """).Ok();
    }

    public void Dispose() => _ps.Dispose();

    private IReadOnlyList<string?> Names(string script) => _ps.Run(script).Ok().Output.Select(o => o.Properties["Name"].Value as string).ToList();

    [Fact]
    public void Get_without_arguments_lists_every_task_oldest_first() =>
        Assert.Equal(["alpha-1", "alpha-2", "beta"], Names("Get-LlmTask"));

    [Fact]
    public void Get_by_id_name_wildcard_instance_id_state_and_newest() 
    {
        Assert.Equal(["alpha-2"], Names("Get-LlmTask -Id 2"));
        Assert.Equal(["alpha-1", "alpha-2"], Names("Get-LlmTask -Name alpha*"));
        Assert.Equal(["alpha-1", "alpha-2"], Names("Get-LlmTask alpha-1, ALPHA-2"));
        Assert.Equal(["beta"], Names("Get-LlmTask -InstanceId (Get-LlmTask -Id 3).InstanceId"));
        Assert.Equal(["alpha-2"], Names("Get-LlmTask -State Failed"));
        Assert.Equal(["alpha-2", "beta"], Names("Get-LlmTask -Newest 2"));
        Assert.Empty(Names("Get-LlmTask -After ([datetime]::Now.AddMinutes(1))"));
        Assert.Equal(3, Names("Get-LlmTask -Before ([datetime]::Now.AddMinutes(1))").Count);
    }

    [Fact]
    public void Task_objects_and_objects_with_an_Id_property_bind_from_the_pipeline()
    {
        Assert.Equal(["beta"], Names("Get-LlmTask -Id 3 | Get-LlmTask"));
        Assert.Equal(["alpha-1"], Names("[pscustomobject]@{ Id = 1 } | Get-LlmTask"));
        Assert.Equal(["beta"], Names("[pscustomobject]@{ InstanceId = (Get-LlmTask -Id 3).InstanceId } | Get-LlmTask"));
        Assert.Equal(["alpha-1", "beta"], Names("[pscustomobject]@{ Id = 1 }, [pscustomobject]@{ Id = 3 } | Wait-LlmTask"));
    }

    [Fact]
    public void A_missing_id_or_exact_name_is_ObjectNotFound_but_an_unmatched_wildcard_is_not()
    {
        var result = _ps.Run("Get-LlmTask -Id 1, 99; Get-LlmTask -Name nope, gamma*");
        Assert.Equal(["alpha-1"], result.Output.Select(o => o.Properties["Name"].Value));
        Assert.Equal(2, result.Errors.Count);
        Assert.All(result.Errors, e =>
        {
            Assert.Equal("LlmTaskNotFound,LlmTasks.PowerShell.Commands.GetLlmTaskCommand", e.FullyQualifiedErrorId);
            Assert.Equal(ErrorCategory.ObjectNotFound, e.CategoryInfo.Category);
        });
        Assert.Contains("99", result.Errors[0].Exception.Message);
        Assert.Contains("nope", result.Errors[1].Exception.Message);
    }

    [Fact]
    public void Failed_tasks_pipe_into_Remove_which_honours_WhatIf()
    {
        _ps.Run("Get-LlmTask -State Failed | Remove-LlmTask -WhatIf").Ok();
        Assert.Equal(3, Names("Get-LlmTask").Count);
        _ps.Run("Get-LlmTask -State Failed | Remove-LlmTask").Ok();
        Assert.Equal(["alpha-1", "beta"], Names("Get-LlmTask"));
        // An object with only an Id may be any JSON with an "id" field: Remove refuses it and changes nothing.
        var idOnly = _ps.Run("[pscustomobject]@{ Id = 3 } | Remove-LlmTask");
        Assert.Equal("LlmTaskIdOnlyObject,LlmTasks.PowerShell.Commands.RemoveLlmTaskCommand", Assert.Single(idOnly.Errors).FullyQualifiedErrorId);
        Assert.Equal(["alpha-1", "beta"], Names("Get-LlmTask"));
        _ps.Run("[pscustomobject]@{ InstanceId = (Get-LlmTask -Id 3).InstanceId } | Remove-LlmTask").Ok();
        Assert.Equal(["alpha-1"], Names("Get-LlmTask"));
    }

    [Fact]
    public void Remove_by_state_and_age_is_a_retention_clean_up()
    {
        _ps.Run("Remove-LlmTask -State Completed -OlderThan ([timespan]::FromDays(1))").Ok();
        Assert.Equal(3, Names("Get-LlmTask").Count);
        _ps.Run("Remove-LlmTask -State Completed -OlderThan 0").Ok();
        Assert.Equal(["alpha-2"], Names("Get-LlmTask"));
        var none = _ps.Run("$states = @(); try { Remove-LlmTask -State $states } catch { $_.FullyQualifiedErrorId }; (Get-LlmTask).Count");
        Assert.Equal(["LlmTaskNoFilter,LlmTasks.PowerShell.Commands.RemoveLlmTaskCommand", "1"], none.Output.Select(o => o.ToString()));
    }

    [Fact]
    public void Cmdlets_declare_their_output_types()
    {
        var types = _ps.Run("Get-Command -Module LlmTasks | ForEach-Object { '{0}={1}' -f $_.Name, ($_.OutputType.Name -join ',') }").Ok();
        Assert.Equal(
            ["Approve-LlmTask=LlmTasks.LlmTask", "Get-LlmBudget=LlmTasks.Execution.Budgets.LlmBudget", "Get-LlmModel=LlmTasks.Providers.Pricing.LlmModelInfo", "Get-LlmRateLimit=LlmTasks.Execution.Limits.RateLimitSetting", "Get-LlmTask=LlmTasks.LlmTask", "Get-LlmTaskAttempt=LlmTasks.LlmAttempt", "Get-LlmTaskBatch=LlmTasks.LlmBatch", "Get-LlmTaskBoard=LlmTasks.Board.TaskBoard", "Invoke-LlmTaskWorker=LlmTasks.LlmTaskWorkerSummary", "Invoke-LlmVerification=LlmTasks.Verification.LlmVerificationResult,System.Boolean", "Receive-LlmTask=System.String,System.Management.Automation.PSObject", "Remove-LlmBudget=System.Void", "Remove-LlmRateLimit=System.Void", "Remove-LlmTask=System.Void", "Repair-LlmTaskStore=LlmTasks.Storage.StoreRecoveryResult", "Restart-LlmTask=LlmTasks.LlmTask", "Set-LlmBudget=LlmTasks.Execution.Budgets.LlmBudget", "Set-LlmRateLimit=LlmTasks.Execution.Limits.RateLimitSetting", "Start-LlmTask=LlmTasks.LlmTask", "Start-LlmTaskBoard=LlmTasks.Board.TaskBoard", "Stop-LlmTask=LlmTasks.LlmTask", "Stop-LlmTaskBoard=System.Void", "Wait-LlmTask=LlmTasks.LlmTask"],
            types.Output.Select(o => o.ToString()).Order());
    }
}

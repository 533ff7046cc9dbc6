namespace LlmTasks.PowerShell.Tests;

public sealed class LifecycleTests : IDisposable
{
    private readonly PowerShellSession _ps = new();

    public void Dispose() => _ps.Dispose();

    [Fact]
    public void Piped_prompts_start_one_task_each_and_come_back_through_wait_and_receive()
    {
        var started = _ps.Run("'one','two','three' | Start-LlmTask -Model mock/echo -Name batch").Ok();
        Assert.Equal(3, started.Output.Count);
        Assert.All(started.Output, o => Assert.Equal("LlmTasks.LlmTask", o.TypeNames[0]));
        Assert.All(started.Output, o => Assert.Equal("Pending", o.Properties["State"].Value.ToString()));

        var received = _ps.Run("Get-LlmTask -Name batch | Wait-LlmTask | Receive-LlmTask").Ok();
        Assert.Equal(["one", "three", "two"], received.Output.Select(o => o.BaseObject.ToString()).Order());
        Assert.All(received.Output, o => Assert.NotNull(o.Properties["TaskId"]));
    }

    [Fact]
    public void A_burst_of_piped_prompts_is_written_in_input_order_and_every_task_written_is_already_stored()
    {
        var result = _ps.Run("""
            $store = $PSDefaultParameterValues['*-Llm*:StorePath']
            $seen = [System.Collections.Generic.List[string]]::new()
            1..300 | ForEach-Object { "burst $_" } | Start-LlmTask -Model mock/delay:1000 | ForEach-Object {
                # Each object is durable when it is written: its row is already in the store.
                if (@(Get-LlmTask -Id $_.Id -StorePath $store).Count -eq 1) { $seen.Add($_.Prompt) }
            }
            $seen.Count
            ($seen -join ',') -eq ((1..300 | ForEach-Object { "burst $_" }) -join ',')
            Get-LlmTask | Stop-LlmTask
            """).Ok();
        Assert.Equal(["300", "True"], result.Output.Select(o => o.ToString()));
    }

    [Fact]
    public void Slow_input_gets_each_task_written_before_the_next_input_arrives()
    {
        var result = _ps.Run("""
            $log = [System.Collections.Generic.List[string]]::new()
            1..3 | ForEach-Object { $log.Add("produced $_"); [System.Threading.Thread]::Sleep(30); "slow $_" } |
                Start-LlmTask -Model mock/echo | ForEach-Object { $log.Add("written $($_.Prompt)") }
            $log -join '; '
            """).Ok();
        Assert.Equal("produced 1; written slow 1; produced 2; written slow 2; produced 3; written slow 3", result.Output.Single().ToString());
    }

    [Fact]
    public void Start_Wait_writes_finished_tasks_in_input_order()
    {
        var result = _ps.Run("'mock/delay:300','mock/delay:10','mock/echo' | ForEach-Object { Start-LlmTask -Model $_ -Prompt $_ -Wait }").Ok();
        Assert.Equal(["mock/delay:300", "mock/delay:10", "mock/echo"], result.Output.Select(o => o.Properties["Output"].Value));

        var ordered = _ps.Run("'slow','fast' | Start-LlmTask -Model mock/delay:150 -Wait -ThrottleLimit 8").Ok();
        Assert.Equal(["slow", "fast"], ordered.Output.Select(o => o.Properties["Output"].Value));
        Assert.All(ordered.Output, o => Assert.Equal("Completed", o.Properties["State"].Value.ToString()));
    }

    [Fact]
    public void Messages_with_a_system_prompt_are_stored_in_full()
    {
        var result = _ps.Run("""
            $messages = @(
                @{ role = 'user'; content = 'first question' }
                @{ role = 'assistant'; content = 'first answer' }
                @{ Role = 'User'; Content = 'second question' }
            )
            Start-LlmTask -Messages $messages -System 'be brief' -Model mock/echo -Wait
            """).Ok();
        var task = result.Output.Single();
        Assert.Equal("second question", task.Properties["Output"].Value);
        Assert.Equal("second question", task.Properties["Prompt"].Value);
        var roles = _ps.Run("(Get-LlmTask -Id $args[0]).Request.Messages | ForEach-Object { '{0}:{1}' -f $_.Role, $_.Content }", task.Properties["Id"].Value).Ok();
        Assert.Equal(["System:be brief", "User:first question", "Assistant:first answer", "User:second question"], roles.Output.Select(o => o.ToString()));
    }

    [Fact]
    public void A_task_object_is_a_snapshot_and_Refresh_or_Get_shows_the_current_state()
    {
        var result = _ps.Run("""
            $t = Start-LlmTask 'hi' -Model mock/delay:50
            $null = $t | Wait-LlmTask
            $t.State
            ($t | Get-LlmTask).State
            $t.Refresh().State
            """).Ok();
        Assert.Equal(["Pending", "Completed", "Completed"], result.Output.Select(o => o.ToString()));
    }

    [Fact]
    public void MockResponse_answers_any_model_and_usage_is_recorded()
    {
        var task = _ps.Run("Start-LlmTask 'q' -Model openai/gpt-4o-mini -MockResponse 'canned answer' -Wait").Ok().Output.Single();
        Assert.Equal("canned answer", task.Properties["Output"].Value);
        Assert.Equal(1, task.Properties["Attempts"].Value);
        Assert.True((long)task.Properties["OutputTokens"].Value > 0);
        Assert.NotNull(task.Properties["Duration"].Value);
    }

    [Fact]
    public void Empty_outputs_receive_again_and_again_each_with_its_own_task_id()
    {
        var result = _ps.Run("""
            $a = Start-LlmTask 'x' -Model mock/echo -MockResponse '' -Wait
            $b = Start-LlmTask 'y' -Model mock/echo -MockResponse '' -Wait
            $a, $b | ForEach-Object { Receive-LlmTask -Id $_.Id | ForEach-Object TaskId }
            $a, $b | Receive-LlmTask | ForEach-Object TaskId
            """).Ok();
        Assert.Equal(4, result.Output.Count);
    }

    [Fact]
    public void A_failed_task_receives_as_an_InvalidResult_error_carrying_its_error()
    {
        var result = _ps.Run("Start-LlmTask 'x' -Model mock/fail -Name broken -Wait | Receive-LlmTask");
        Assert.Empty(result.Output);
        var error = Assert.Single(result.Errors);
        Assert.Equal("LlmTaskFailed,LlmTasks.PowerShell.Commands.ReceiveLlmTaskCommand", error.FullyQualifiedErrorId);
        Assert.Equal(System.Management.Automation.ErrorCategory.InvalidResult, error.CategoryInfo.Category);
        Assert.Contains("mock/fail", error.Exception.Message);
        Assert.Contains("'broken'", error.Exception.Message);
    }

    [Fact]
    public void Receive_of_an_unfinished_task_says_so_and_Receive_Wait_waits()
    {
        var result = _ps.Run("$t = Start-LlmTask 'later' -Model mock/delay:300; $t | Receive-LlmTask; $t | Receive-LlmTask -Wait");
        Assert.Equal("later", Assert.Single(result.Output).BaseObject);
        Assert.Equal("LlmTaskNotFinished,LlmTasks.PowerShell.Commands.ReceiveLlmTaskCommand", Assert.Single(result.Errors).FullyQualifiedErrorId);
    }

    [Fact]
    public void Timeout_of_a_call_fails_the_task_as_Timeout()
    {
        var task = _ps.Run("Start-LlmTask 'slow' -Model mock/delay:5000 -TimeoutSec 0.2 -Wait").Ok().Output.Single();
        Assert.Equal("Failed", task.Properties["State"].Value.ToString());
        Assert.Equal("Timeout", task.Properties["ErrorKind"].Value);
    }

    [Fact]
    public void Two_runspaces_on_one_store_see_and_wait_for_each_others_tasks()
    {
        using var other = new PowerShellSession(_ps.StorePath);
        var id = _ps.Run("(Start-LlmTask 'shared' -Model mock/delay:200 -Name shared).Id").Ok().Single<long>();
        var seen = other.Run("Get-LlmTask -Name shared | Wait-LlmTask | Receive-LlmTask").Ok();
        Assert.Equal("shared", Assert.Single(seen.Output).BaseObject);
        Assert.Equal("Completed", _ps.Run("(Get-LlmTask -Id $args[0]).State", id).Ok().Single<object>().ToString());
    }
}

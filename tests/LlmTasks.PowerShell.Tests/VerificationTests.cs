namespace LlmTasks.PowerShell.Tests;

public sealed class VerificationTests : IDisposable
{
    private readonly PowerShellSession _ps = new();

    public VerificationTests() => _ps.Run("$PSDefaultParameterValues['Invoke-LlmVerification:StorePath'] = $args[0]", _ps.StorePath).Ok();

    public void Dispose() => _ps.Dispose();

    [Fact]
    public void An_answer_that_is_not_the_json_asked_for_is_re_asked_with_the_reason()
    {
        var result = _ps.Run("""
            $t = Start-LlmTask 'Give me an object.' -Model mock/sequence -MockResponse 'Sure! Here it is: a=1', '{"a":1}' -ResponseFormat Json -Verify @{ Type = 'NotEmpty' } -MaxAttempts 2 -Wait
            $t.State
            $t.Attempts
            $t.StructuredOutput
            (Get-LlmTaskAttempt -Id $t.Id)[1].RequestJson
            """).Ok();
        Assert.Equal(["Completed", "2", "{\"a\":1}"], result.Output.Take(3).Select(o => o.ToString()));
        var reAsk = result.Output[3].ToString();
        Assert.Contains("Sure! Here it is: a=1", reAsk); // the failed answer is in the conversation
        Assert.Contains("not valid JSON", reAsk);        // with the reason
    }

    [Fact]
    public void A_judge_run_on_a_finished_task_is_kept_as_an_attempt_of_that_task()
    {
        var result = _ps.Run("""
            $t = Start-LlmTask 'Greet me.' -Model mock/echo -MockResponse 'Hello there!' -Wait
            $judge = @{ Type = 'Judge'; Model = 'mock/echo'; Criteria = 'It is a greeting.'; MockResponse = '{"passed": true, "reasoning": "It says hello."}' }
            ($t | Invoke-LlmVerification -Verify $judge).Passed
            $now = $t | Get-LlmTask
            $now.Attempts; $now.State.ToString(); $now.Output
            $attempts = @(Get-LlmTaskAttempt -Id $t.Id)
            $attempts.Count; $attempts[1].DetailsJson
            """).Ok();
        Assert.Equal(["True", "2", "Completed", "Hello there!", "2"], result.Output.Take(5).Select(o => o.ToString()));
        Assert.Contains("\"judge\":true", result.Output[5].ToString());
    }

    [Fact]
    public void Quiet_JsonSchema_verification_works_in_an_if()
    {
        var result = _ps.Run("""
            $s = @{ type = 'object'; required = @('a'); properties = @{ a = @{ type = 'integer' } } }
            if ('{"a":1}' | Invoke-LlmVerification -Verify @{Type='JsonSchema';Schema=$s} -Quiet) { 'yes' } else { 'no' }
            if ('{"a":"x"}' | Invoke-LlmVerification -Verify @{Type='JsonSchema';Schema=$s} -Quiet) { 'yes' } else { 'no' }
            """).Ok();
        Assert.Equal(["yes", "no"], result.Output.Select(o => o.ToString()));
    }

    [Fact]
    public void Strings_get_one_result_each_in_order_with_checks_and_FailFast_stops_early()
    {
        var result = _ps.Run("""
            $spec = @{ Type = 'Json' }, @{ Type = 'Contains'; Text = 'x' }, { param($Output) if ($Output.Length -gt 3) { $true } else { 'too short' } }
            $r = '{"x":1}', 'nope' | Invoke-LlmVerification -Verify $spec
            $r.Count
            $r[0].Passed; $r[1].Passed
            ($r[1].Checks | ForEach-Object { '{0}={1}' -f $_.Type, $_.Passed }) -join ','
            $r[1].Checks[2].Reason
            $r[0].Target
            ('nope' | Invoke-LlmVerification -Verify $spec -FailFast).Checks.Count
            $r[0].Checks[0].Duration -is [timespan]
            """).Ok();
        Assert.Equal(["2", "True", "False", "Json=False,Contains=False,Script=True", "", "{\"x\":1}", "1", "True"],
            result.Output.Select(o => o?.ToString() ?? string.Empty));
    }

    [Fact]
    public void Script_block_checks_run_in_the_modules_runspace_and_report_reasons_and_throws()
    {
        var result = _ps.Run("""
            $secret = 'caller variable'
            $r = 'abc' | Invoke-LlmVerification -Verify { param($Output) 'bad: ' + $Output }, { throw 'boom' }, { param($Output) [System.Management.Automation.Runspaces.Runspace]::DefaultRunspace.Name }
            $r.Checks | ForEach-Object { '{0}|{1}' -f $_.Passed, $_.Reason }
            try { 'abc' | Invoke-LlmVerification -Verify { param($Output) "$secret" -eq '' } } catch { $_.FullyQualifiedErrorId }
            [System.Management.Automation.Runspaces.Runspace]::DefaultRunspace.Name
            """).Ok();
        Assert.Equal("False|bad: abc", result.Output[0].ToString());
        Assert.StartsWith("False|The script block threw: boom", result.Output[1].ToString());
        // Not this runspace: the check ran in one of the module's own (its name is its reason, as a string fails).
        Assert.Equal("False|LlmTasks script check", result.Output[2].ToString());
        Assert.NotEqual("LlmTasks script check", result.Output[4].ToString());
        // The caller's variables are not visible there, so a block that reads one is refused rather than run on $null.
        Assert.Equal("LlmTaskScriptCheckVariable,LlmTasks.PowerShell.Commands.InvokeLlmVerificationCommand", result.Output[3].ToString());
    }

    [Fact]
    public void Bad_specs_are_refused_with_their_own_id_before_any_task_is_stored()
    {
        var result = _ps.Run("""
            try { Start-LlmTask 'q' -Model mock/echo -Verify @{ Type = 'Regex'; Pattern = '(' }; 'not reached' } catch { $_.FullyQualifiedErrorId; $_.CategoryInfo.Category; $_.Exception.Message }
            try { Start-LlmTask 'q' -Model mock/echo -Verify @{ Type = 'Nope' }, @{ Type = 'NotEmpty' }; 'not reached' } catch { $_.Exception.Message }
            try { 'x' | Invoke-LlmVerification -Verify @{ Type = 'Length'; Minimum = 3 }; 'not reached' } catch { $_.Exception.Message }
            try { Start-LlmTask 'q' -Model mock/echo -MaxAttempts 3; 'not reached' } catch { $_.FullyQualifiedErrorId }
            @(Get-LlmTask).Count
            """).Ok();
        var lines = result.Output.Select(o => o.ToString()).ToArray();
        Assert.Equal("LlmTaskInvalidVerification,LlmTasks.PowerShell.Commands.StartLlmTaskCommand", lines[0]);
        Assert.Equal("InvalidArgument", lines[1]);
        Assert.StartsWith("Verify item 1 (Regex): the Pattern is not a valid regular expression", lines[2]);
        Assert.StartsWith("Verify item 1 (Nope): unknown Type", lines[3]);
        Assert.Contains("unknown key(s) Minimum", lines[4]);
        Assert.StartsWith("LlmTaskInvalidVerification", lines[5]);
        Assert.Equal("0", lines[6]);
    }

    [Fact]
    public void Start_with_Verify_re_asks_until_the_third_answer_passes()
    {
        var result = _ps.Run("""
            $t = Start-LlmTask 'Generate exactly 3 random words' -Model mock/sequence -MockResponse 'one', 'one two three four', 'red green blue' `
                 -Verify @{ Type = 'Length'; Words = $true; Min = 3; Max = 3 }, { param($Output, $Task) $Task.Prompt -like 'Generate*' } -MaxAttempts 3 -Wait
            $t.State; $t.Output; $t.Attempts
            $g = $t | Get-LlmTask
            $g.Checks.Count; $g.FailedChecks.Count
            """).Ok();
        Assert.Equal(["Completed", "red green blue", "3", "2", "0"], result.Output.Select(o => o.ToString()));
    }

    [Fact]
    public void A_hundred_tasks_list_as_NeedsReview_with_reasons_then_approve_and_restart()
    {
        var result = _ps.Run("""
            $spec = @{ Type = 'Length'; Words = $true; Min = 3; Max = 3 }
            $null = 1..100 | ForEach-Object { "prompt $_" } | Start-LlmTask -Model mock/sequence -MockResponse 'one', 'one two' -Verify $spec -MaxAttempts 2 -Name review
            $null = Get-LlmTask -Name review | Wait-LlmTask
            $review = @(Get-LlmTask -State NeedsReview)
            $review.Count
            $review[0].FailedChecks[0].Reason
            $review[0].Error
            $review[0].Attempts
            try { $review[0] | Receive-LlmTask -ErrorAction Stop } catch { $_.FullyQualifiedErrorId; $_.Exception.Message }
            $review[0] | Approve-LlmTask -Reason 'close enough' -PassThru | ForEach-Object { $_.State }
            ($review[0] | Get-LlmTask).Checks | Where-Object Type -eq 'Approval' | ForEach-Object Reason
            $review[0] | Receive-LlmTask
            $again = $review[1] | Restart-LlmTask -Wait
            $again.State; $again.Attempts
            try { $review[0] | Restart-LlmTask -ErrorAction Stop } catch { $_.FullyQualifiedErrorId }
            """);
        var lines = result.Output.Select(o => o.ToString()).ToArray();
        Assert.Equal("100", lines[0]);
        Assert.Equal("The output has 2 words; it must have exactly 3.", lines[1]);
        Assert.Contains("Needs review after attempt 2 of 2", lines[2]);
        Assert.Equal("2", lines[3]);
        Assert.StartsWith("LlmTaskNeedsReview", lines[4]);
        Assert.Contains("Length: The output has 2 words", lines[5]);
        Assert.Equal("Completed", lines[6]);
        Assert.StartsWith("Approved by ", lines[7]);
        Assert.EndsWith(": close enough", lines[7]);
        Assert.Equal("one two", lines[8]);
        Assert.Equal("NeedsReview", lines[9]);
        Assert.Equal("4", lines[10]);
        Assert.StartsWith("LlmTaskNotRestartable", lines[11]);
    }

    [Fact]
    public void Tasks_from_the_pipeline_are_verified_and_their_results_stored()
    {
        var result = _ps.Run("""
            $t = Start-LlmTask 'What is 2+2?' -Model mock/echo -MockResponse 'It is 4.' -Wait
            $r = $t | Invoke-LlmVerification -Verify @{ Type = 'Contains'; Text = '4' }, @{ Type = 'Regex'; Pattern = '^\d+$' }
            $r.Passed; $r.TaskId -eq $t.Id; $r.Target.GetType().Name
            ($t | Get-LlmTask).Checks.Count
            Invoke-LlmVerification -Id $t.Id -Verify @{ Type = 'NotEmpty' } -Quiet
            """).Ok();
        Assert.Equal(["False", "True", "LlmTask", "2", "True"], result.Output.Select(o => o.ToString()));
    }

    [Fact]
    public void The_seed_cases_run_offline_and_all_complete()
    {
        var script = Path.Combine(Repo.Root, "examples", "seed-cases.ps1");
        var result = _ps.Run("& $args[0] -StorePath $args[1]", script, _ps.StorePath).Ok();
        var lines = result.Output.Select(o => o.ToString()).ToArray();
        Assert.Equal(9, lines.Length);
        Assert.All(lines.Take(8), l => Assert.Contains(" Completed ", l));
        Assert.Contains("attempts=3 apple river cloud", lines[7]); // two answers failed the word count, the third passed
        Assert.Contains("attempts=2", lines[3]); // the code answer plus its judge call
        Assert.Equal("5 mcp files: file check passed", lines[8]);
    }
}

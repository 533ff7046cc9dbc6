#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0' }
# Pester 5 tests of the cmdlets in real pwsh: `dotnet test Engine.sln` runs every *.Tests.ps1 file here
# (tests/LlmTasks.PowerShell.Tests/PesterSuiteTests.cs through Invoke-PesterSuite.ps1).

BeforeAll {
    $manifest = Join-Path $PSScriptRoot '../../out/LlmTasks/LlmTasks.psd1'
    Import-Module $manifest -Force
    $script:store = Join-Path ([System.IO.Path]::GetTempPath()) "llmtasks-pester-$([guid]::NewGuid()).db"
    # The PostgreSQL run (PesterSuiteTests) sets $env:LLMTASKS_STORE to a fresh database: the same tests on that store.
    if ($env:LLMTASKS_STORE -match '^postgres(ql)?://|(^|;)\s*Host\s*=') { $script:store = $env:LLMTASKS_STORE }
    $PSDefaultParameterValues['*-Llm*:StorePath'] = $script:store
}

AfterAll {
    Remove-Module LlmTasks -ErrorAction SilentlyContinue
    if ($script:store -like '*.db') { Remove-Item "$script:store*" -ErrorAction SilentlyContinue }
}

Describe 'Start-LlmTask' {
    It 'starts one task per piped prompt and returns them at once' {
        $tasks = 'a', 'b' | Start-LlmTask -Model mock/echo
        $tasks | Should -HaveCount 2
        $tasks[0].PSObject.TypeNames[0] | Should -Be 'LlmTasks.LlmTask'
    }

    It 'waits and returns finished tasks in input order with -Wait' {
        $done = 'slow', 'fast' | Start-LlmTask -Model mock/delay:100 -Wait
        $done.Output | Should -Be @('slow', 'fast')
        $done.State | Should -Be @('Completed', 'Completed')
    }

    It 'answers any model offline with -MockResponse' {
        (Start-LlmTask 'q' -Model openai/gpt-4o-mini -MockResponse 'canned' -Wait).Output | Should -Be 'canned'
    }

    It 'refuses an unknown provider with its own error id' {
        { Start-LlmTask 'q' -Model nope/x -ErrorAction Stop } |
            Should -Throw -ErrorId 'LlmTaskUnknownProvider,LlmTasks.PowerShell.Commands.StartLlmTaskCommand'
    }
}

Describe 'Wait-LlmTask' {
    It 'writes a LlmTaskWaitTimeout error naming unfinished tasks' {
        $task = Start-LlmTask 'x' -Model mock/delay:30000
        { $task | Wait-LlmTask -Timeout 1 -ErrorAction Stop } |
            Should -Throw -ErrorId 'LlmTaskWaitTimeout,LlmTasks.PowerShell.Commands.WaitLlmTaskCommand'
        $task | Stop-LlmTask
    }
}

Describe 'Receive-LlmTask' {
    It 'writes the output of completed tasks' {
        Start-LlmTask 'hello' -Model mock/echo -Wait | Receive-LlmTask | Should -Be 'hello'
    }

    It 'writes an InvalidResult error for a failed task' {
        $failed = Start-LlmTask 'x' -Model mock/fail -Wait
        $failed | Receive-LlmTask -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].CategoryInfo.Category | Should -Be 'InvalidResult'
    }
}

Describe 'Get-LlmTask and Remove-LlmTask' {
    It 'pipes failed tasks into Remove-LlmTask' {
        Start-LlmTask 'x' -Model mock/fail -Name doomed -Wait | Out-Null
        Get-LlmTask -State Failed | Remove-LlmTask
        Get-LlmTask -State Failed | Should -BeNullOrEmpty
    }

    It 'reports a missing id as ObjectNotFound' {
        Get-LlmTask -Id 987654 -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
    }
}

Describe 'Verification' {
    It 'answers $true/$false with -Quiet in an if' {
        $s = @{ type = 'object'; required = @('a') }
        $ok = if ('{"a":1}' | Invoke-LlmVerification -Verify @{ Type = 'JsonSchema'; Schema = $s } -Quiet) { 'yes' } else { 'no' }
        $ok | Should -Be 'yes'
    }

    It 're-asks until the third answer passes' {
        $t = Start-LlmTask 'Generate exactly 3 random words' -Model mock/sequence -MockResponse 'one', 'one two', 'red green blue' `
            -Verify @{ Type = 'Length'; Words = $true; Min = 3; Max = 3 } -MaxAttempts 3 -Wait
        $t.State | Should -Be 'Completed'
        $t.Attempts | Should -Be 3
    }

    It 'ends in NeedsReview with the reasons, and Approve-LlmTask completes it' {
        $t = Start-LlmTask 'three words' -Model mock/sequence -MockResponse 'one', 'two words' `
            -Verify @{ Type = 'Length'; Words = $true; Min = 3; Max = 3 } -MaxAttempts 2 -Wait
        $t.State | Should -Be 'NeedsReview'
        ($t | Get-LlmTask).FailedChecks[0].Reason | Should -Match '2 words'
        ($t | Approve-LlmTask -Reason 'ok' -PassThru).State | Should -Be 'Completed'
    }

    It 'refuses a bad spec before any call' {
        { Start-LlmTask 'q' -Model mock/echo -Verify @{ Type = 'Regex'; Pattern = '(' } -ErrorAction Stop } |
            Should -Throw -ErrorId 'LlmTaskInvalidVerification,LlmTasks.PowerShell.Commands.StartLlmTaskCommand'
    }
}

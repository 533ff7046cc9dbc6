#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0' }
# Result order, as Wait-Job | Receive-Job keeps it: a list of tasks comes back in input order, each
# written as soon as it and every task before it has finished, so answers zip with their prompts.
# -InCompletionOrder and -Any give completion order; progress counts completions either way.

BeforeAll {
    $script:manifest = (Resolve-Path (Join-Path $PSScriptRoot '../../out/LlmTasks/LlmTasks.psd1')).Path
    Import-Module $script:manifest -Force
    $script:store = Join-Path ([System.IO.Path]::GetTempPath()) "llmtasks-pester-order-$([guid]::NewGuid()).db"
    # The PostgreSQL run (PesterSuiteTests) sets $env:LLMTASKS_STORE to a fresh database: the same tests on that store.
    if ($env:LLMTASKS_STORE -match '^postgres(ql)?://|(^|;)\s*Host\s*=') { $script:store = $env:LLMTASKS_STORE }
    $script:other = Join-Path ([System.IO.Path]::GetTempPath()) "llmtasks-pester-order-other-$([guid]::NewGuid()).db"
    $PSDefaultParameterValues['*-Llm*:StorePath'] = $script:store

    # A task still running when the wait starts, then one that has already finished: completion order is the reverse of input order.
    function New-SlowThenDone {
        $slow = Start-LlmTask 'slow' -Model mock/delay:1500
        $done = Start-LlmTask 'done' -Model mock/echo -Wait
        $slow, $done
    }
}

AfterAll {
    Remove-Module LlmTasks -ErrorAction SilentlyContinue
    Remove-Item @(@($script:store, $script:other) | Where-Object { $_ -like '*.db' } | ForEach-Object { "$_*" }) -ErrorAction SilentlyContinue
}

Describe 'Wait-LlmTask and Receive-LlmTask keep input order' {
    It 'Wait-LlmTask writes a list in input order, not completion order' {
        $tasks = New-SlowThenDone
        ($tasks | Wait-LlmTask).Prompt | Should -Be 'slow', 'done'
        (Wait-LlmTask -Id $tasks[0].Id, $tasks[1].Id).Prompt | Should -Be 'slow', 'done'
    }

    It 'Wait-LlmTask | Receive-LlmTask gives answers that zip with their prompts' {
        $prompts = 'first', 'second', 'third', 'fourth'
        $tasks = for ($i = 0; $i -lt $prompts.Count; $i++) {
            Start-LlmTask $prompts[$i] -Model "mock/delay:$(800 - 250 * $i)" # the later, the sooner it finishes
        }
        $answers = $tasks | Wait-LlmTask | Receive-LlmTask
        $answers | Should -Be $prompts
        $answers.TaskId | Should -Be $tasks.Id
    }

    It 'Receive-LlmTask -Wait writes results in input order' {
        $tasks = New-SlowThenDone
        $tasks | Receive-LlmTask -Wait | Should -Be 'slow', 'done'
    }

    It 'writes each task as soon as it and the tasks before it have finished, without waiting for the rest' {
        $done = Start-LlmTask 'done' -Model mock/echo -Wait
        $slow = Start-LlmTask 'slow' -Model mock/delay:3000
        $seen = $done, $slow | Wait-LlmTask | ForEach-Object { '{0} while slow was {1}' -f $_.Prompt, (Get-LlmTask $slow.Id).State }
        $seen[0] | Should -Match '^done while slow was (Pending|Running)$'
        $seen[1] | Should -Be 'slow while slow was Completed'
    }

    It 'keeps input order across stores' {
        $slow = Start-LlmTask 'slow here' -Model mock/delay:1500
        $there = Start-LlmTask 'done there' -Model mock/echo -StorePath $script:other -Wait
        $here = Start-LlmTask 'done here' -Model mock/echo -Wait
        ($slow, $there, $here | Wait-LlmTask).Prompt | Should -Be 'slow here', 'done there', 'done here'
    }

    It 'on timeout writes the finished tasks in input order and one LlmTaskWaitTimeout error naming the rest' {
        $later = Start-LlmTask 'later' -Model mock/delay:1200
        $long = Start-LlmTask 'long' -Model mock/delay:30000
        $done = Start-LlmTask 'done' -Model mock/echo -Wait
        try {
            $written = $later, $long, $done | Wait-LlmTask -Timeout 4 -ErrorVariable err -ErrorAction SilentlyContinue
            $written.Prompt | Should -Be 'later', 'done'
            $err | Should -HaveCount 1
            $err[0].FullyQualifiedErrorId | Should -Be 'LlmTaskWaitTimeout,LlmTasks.PowerShell.Commands.WaitLlmTaskCommand'
            $err[0].Exception.Message | Should -Match "$($long.Id)"
        }
        finally {
            $long | Stop-LlmTask
        }
    }
}

Describe 'completion order when asked for' {
    It 'Wait-LlmTask -InCompletionOrder writes each task as it finishes' {
        $tasks = New-SlowThenDone
        ($tasks | Wait-LlmTask -InCompletionOrder).Prompt | Should -Be 'done', 'slow'
    }

    It 'Wait-LlmTask -Any writes the first to finish' {
        $tasks = New-SlowThenDone
        ($tasks | Wait-LlmTask -Any).Prompt | Should -Be 'done'
        $tasks[0] | Wait-LlmTask | Out-Null
    }

    It 'Receive-LlmTask -Wait -InCompletionOrder writes each result as its task finishes' {
        $tasks = New-SlowThenDone
        $tasks | Receive-LlmTask -Wait -InCompletionOrder | Should -Be 'done', 'slow'
    }
}

Describe 'progress and the other cmdlets that wait' {
    It 'progress counts completions while results keep input order' {
        $ps = [powershell]::Create()
        try {
            $null = $ps.AddScript({
                param($manifest, $store)
                Import-Module $manifest
                $ProgressPreference = 'Continue'
                $slow = Start-LlmTask 'slow' -Model mock/delay:1500 -StorePath $store
                $done = Start-LlmTask 'done' -Model mock/echo -StorePath $store -Wait
                ($slow, $done | Wait-LlmTask -StorePath $store).Prompt
            }).AddArgument($script:manifest).AddArgument($script:store)
            $output = $ps.Invoke()
            $output | Should -Be 'slow', 'done'
            $status = @($ps.Streams.Progress | Where-Object Activity -EQ 'Waiting for LLM tasks' | ForEach-Object StatusDescription)
            $status | Should -Contain '1 of 2 finished' # the finished one counts before the slow one is written
            $status[-1] | Should -Be '2 of 2 finished'
        }
        finally {
            $ps.Dispose()
        }
    }

    It 'Start-LlmTask -Wait and Restart-LlmTask -Wait write in input order' {
        ('slow', 'fast' | ForEach-Object { [pscustomobject]@{ Prompt = $_; Model = if ($_ -eq 'slow') { 'mock/delay:1200' } else { 'mock/echo' } } } |
            Start-LlmTask -Wait).Prompt | Should -Be 'slow', 'fast'

        $slow = Start-LlmTask 'restart slow' -Model mock/delay:1200
        $slow | Stop-LlmTask
        $fast = Start-LlmTask 'restart fast' -Model mock/fail -Wait
        $restarted = $slow, $fast | Restart-LlmTask -Wait
        $restarted.Prompt | Should -Be 'restart slow', 'restart fast'
        $restarted.State | Should -Be 'Completed', 'Failed'
    }
}

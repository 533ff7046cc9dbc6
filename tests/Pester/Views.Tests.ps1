#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0' }
# What task objects carry and how they look: Checks/FailedChecks on every cmdlet that writes finished
# tasks, Duration that Measure-Object can sum, and table/list views that fit 80 and 120 columns.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot '../../out/LlmTasks/LlmTasks.psd1') -Force
    $script:store = Join-Path ([System.IO.Path]::GetTempPath()) "llmtasks-pester-views-$([guid]::NewGuid()).db"
    $PSDefaultParameterValues['*-Llm*:StorePath'] = $script:store
    $script:threeWords = @{ Type = 'Length'; Words = $true; Min = 3; Max = 3 }
    $script:long = 'The quick brown fox jumps over the lazy dog. ' * 8

    # The lines of a rendering, without the blank ones and trailing spaces.
    function Get-Lines([string] $text) { $text -split "`r?`n" | ForEach-Object TrimEnd | Where-Object { $_ } }
}

AfterAll {
    Remove-Module LlmTasks -ErrorAction SilentlyContinue
    Remove-Item "$script:store*" -ErrorAction SilentlyContinue
}

Describe 'finished tasks carry their checks' {
    It 'Start-LlmTask -Wait, Wait-LlmTask and Restart-LlmTask -Wait write Checks and FailedChecks, as Get-LlmTask does' {
        $started = Start-LlmTask 'three words' -Model mock/sequence -MockResponse 'one', 'two words' -Verify $threeWords -MaxAttempts 2 -Wait
        $started.State | Should -Be 'NeedsReview'
        $started.FailedChecks | Should -HaveCount 1
        $started.FailedChecks[0].Reason | Should -Match '2 words'
        $started.Checks | Should -HaveCount 1

        $waited = $started | Wait-LlmTask
        $waited.FailedChecks[0].Reason | Should -Match '2 words'
        ($started | Get-LlmTask).FailedChecks[0].Reason | Should -Be $waited.FailedChecks[0].Reason

        $restarted = $started | Restart-LlmTask -Wait
        $restarted.FailedChecks[0].Reason | Should -Match '2 words'
        $approved = $restarted | Approve-LlmTask -Reason 'fine' -PassThru
        $approved.Checks.Type | Should -Contain 'Approval'
    }

    It 'a task without checks has empty lists, so Where-Object and Measure-Object work on every task' {
        $plain = Start-LlmTask 'plain' -Model mock/echo -Wait
        @($plain.Checks).Count | Should -Be 0
        @($plain | Wait-LlmTask | Where-Object { $_.FailedChecks.Count -eq 0 }).Count | Should -Be 1
    }
}

Describe 'Duration is a number of seconds' {
    It 'sums and averages with Measure-Object, and Elapsed is the same as a TimeSpan' {
        $tasks = 'a', 'b', 'c' | Start-LlmTask -Model mock/delay:50 -Wait
        $measure = $tasks | Measure-Object Duration -Sum -Average -Maximum
        $measure.Count | Should -Be 3
        $measure.Sum | Should -BeGreaterThan 0
        $measure.Average | Should -Be ($measure.Sum / 3)
        $tasks[0].Duration | Should -BeOfType [double]
        $tasks[0].Elapsed | Should -BeOfType [timespan]
        $tasks[0].Duration | Should -Be $tasks[0].Elapsed.TotalSeconds
        ($tasks | Sort-Object Duration -Descending)[0].Duration | Should -Be $measure.Maximum
    }

    It 'is empty for a task that has not started, and Measure-Object leaves it out' {
        $pending = Start-LlmTask 'later' -Model mock/delay:30000 # the snapshot of a task not started yet
        try {
            $pending.Duration | Should -BeNullOrEmpty
            $done = Start-LlmTask 'done' -Model mock/delay:20 -Wait
            ($done, $pending | Measure-Object Duration -Sum).Sum | Should -Be $done.Duration
        }
        finally {
            $pending | Stop-LlmTask
        }
    }
}

Describe 'table and list views' {
    BeforeAll {
        $script:views = @(
            Start-LlmTask $long -Model openai/gpt-4o-mini -MockResponse $long -Name a-rather-long-task-name -Wait
            Start-LlmTask "line one`nline two`n`nline three" -Model mock/echo -Name multi -Wait
            Start-LlmTask 'x' -Model mock/fail -Name failed -Wait
        )
    }

    It 'the default table keeps every column and room for Output at 80 columns' {
        $lines = Get-Lines ($views | Format-Table | Out-String -Width 80)
        $lines | ForEach-Object { $_.Length | Should -BeLessOrEqual 80 }
        $lines[0] | Should -Match '^\s*Id\s+Name\s+State\s+Model\s+Duration\s+Output$'
        $outputAt = $lines[0].IndexOf('Output')
        80 - $outputAt | Should -BeGreaterOrEqual 25
        $row = $lines | Where-Object { $_ -match 'Completed' } | Select-Object -First 1
        $row.Substring($outputAt) | Should -Match '^The quick brown fox'
        $lines | Where-Object { $_ -match 'line one line two line' } | Should -HaveCount 1 # one line per task
        $lines | Where-Object { $_ -match 'Failed' } | Should -Match 'mock/fail'
    }

    It 'at 120 columns Output gets the extra room' {
        $lines = Get-Lines ($views | Format-Table | Out-String -Width 120)
        $lines | ForEach-Object { $_.Length | Should -BeLessOrEqual 120 }
        $outputAt = $lines[0].IndexOf('Output')
        120 - $outputAt | Should -BeGreaterOrEqual 60
        ($lines | Where-Object { $_ -match 'Completed' } | Select-Object -First 1).Substring($outputAt).Length | Should -BeGreaterOrEqual 60
    }

    It 'the lease and attempt views fit 80 columns with every column' {
        $lease = Get-Lines ($views | Format-Table -View Lease | Out-String -Width 80)
        $lease | ForEach-Object { $_.Length | Should -BeLessOrEqual 80 }
        $lease[0] | Should -Match '^\s*Id\s+State\s+Attempts\s+Owner\s+LeaseExpiresAt\s+Cancel$'

        $attempts = Get-Lines ($views | Get-LlmTaskAttempt | Format-Table | Out-String -Width 80)
        $attempts | ForEach-Object { $_.Length | Should -BeLessOrEqual 80 }
        $attempts[0] | Should -Match 'TaskId\s+#\s+Outcome\s+ErrorKind\s+Latency\s+Tokens\s+CostUsd\s+Details$'
        $attempts | Where-Object { $_ -match 'Failed' } | Should -Not -BeNullOrEmpty
    }

    It 'Format-List shows the whole prompt and output, the duration in seconds and the failed checks' {
        $review = Start-LlmTask 'three words' -Model mock/echo -MockResponse 'just two' -Verify $threeWords -Name reviewed -Wait
        $text = $views[0], $review | Format-List | Out-String -Width 80
        (Get-Lines $text) | ForEach-Object { $_.Length | Should -BeLessOrEqual 80 }
        $text.Replace(' ', '').Replace("`n", '').Replace("`r", '') | Should -Match ([regex]::Escape($long.Replace(' ', '') * 1)) # wrapped, never cut
        $text | Should -Match 'Duration\s+:\s+\d+\.\d{3}s'
        $text | Should -Match 'FailedChecks\s+:\s+Length: The output has 2 words'
        ($views[0] | Format-List | Out-String) | Should -Not -Match 'FailedChecks'
    }

    It 'ConvertTo-Json writes the properties a script reads back' {
        $json = $views[0] | Select-Object Id, Name, State, Model, Duration, Output | ConvertTo-Json -EnumsAsStrings | ConvertFrom-Json
        $json.Name | Should -Be 'a-rather-long-task-name'
        $json.Duration | Should -Be $views[0].Duration
        $json.State | Should -Be 'Completed'
    }
}

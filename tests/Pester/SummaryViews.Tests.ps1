#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0' }
# What Invoke-LlmTaskWorker -UntilEmpty and Repair-LlmTaskStore write, rendered as people look at it in a
# CI log or a terminal: the counts that say what happened, in Format-Table and Format-List at 80 columns.

BeforeAll {
    $manifest = Join-Path $PSScriptRoot '../../out/LlmTasks/LlmTasks.psd1'
    Import-Module $manifest -Force
    $script:folder = Join-Path ([System.IO.Path]::GetTempPath()) "llmtasks-summary-$([guid]::NewGuid())"
    New-Item -ItemType Directory -Path $script:folder | Out-Null
    $script:store = Join-Path $script:folder 'tasks.db'
    $PSDefaultParameterValues['*-Llm*:StorePath'] = $script:store

    # Work another session left when it exited: queued behind a call that kept its only slot, so never
    # started there (the blocker is stopped here); a worker in this session may take it.
    $script:leave = {
        param([int] $Count)
        $exe = (Get-Process -Id $PID).Path
        $arguments = @()
        if ([System.IO.Path]::GetFileNameWithoutExtension($exe) -eq 'dotnet') { $arguments += [Environment]::GetCommandLineArgs()[0] }
        $arguments += '-NoProfile', '-NonInteractive', '-Command', ("Import-Module '$manifest'; `$PSDefaultParameterValues['*-Llm*:StorePath'] = '$script:store'; " +
            "`$null = Start-LlmTask 'blocker' -Model mock/delay:600000 -Name blocker -ThrottleLimit 1; " +
            "`$null = 1..$Count | ForEach-Object { `"left `$_`" } | Start-LlmTask -Model mock/echo -Name left")
        & $exe @arguments
        if ($LASTEXITCODE -ne 0) { throw "pwsh exited with $LASTEXITCODE" }
        Get-LlmTask -Name blocker | Stop-LlmTask
    }

    function script:Get-Header([string] $Table) {
        # The header line: the first non-empty line of the rendered table.
        ($Table -split "`n" | Where-Object { $_.Trim() } | Select-Object -First 1).Trim()
    }
}

AfterAll {
    $PSDefaultParameterValues.Remove('*-Llm*:StorePath')
    Remove-Module LlmTasks -ErrorAction SilentlyContinue
    Remove-Item $script:folder -Recurse -Force -ErrorAction SilentlyContinue
}

Describe 'The worker summary' {
    BeforeAll {
        & $script:leave 3
        $script:summary = Invoke-LlmTaskWorker -UntilEmpty
    }

    It 'did the work it reports' {
        $summary.Claimed | Should -Be 3
        $summary.Completed | Should -Be 3
    }

    It 'shows every count, whole, in a table at 80 columns' {
        $table = $summary | Format-Table | Out-String -Width 80
        $header = Get-Header $table
        foreach ($column in 'Claimed', 'Completed', 'Failed', 'NeedsReview', 'Cancelled', 'Recovered', 'HandedBack', 'Duration') {
            $header | Should -Match "(^|\s)$column(\s|$)" -Because "the table should show $column whole: $header"
        }

        $table | Should -Not -Match '…'
        ($table -split "`n" | Where-Object { $_.Length -gt 80 }) | Should -BeNullOrEmpty
        $table | Should -Match '(?m)^\s*3\s+3\s+0\s+0\s+0\s+0\s+0\s'
    }

    It 'lists the counts first, then when and where it ran' {
        $list = ($summary | Out-String -Width 80) -split "`n" | Where-Object { $_ -match '^\w+\s*:' } | ForEach-Object { ($_ -split ':')[0].Trim() }
        $list[0..6] | Should -Be @('Claimed', 'Completed', 'Failed', 'NeedsReview', 'Cancelled', 'Recovered', 'HandedBack')
        $list | Should -Contain 'EndReason'
        $list | Should -Contain 'StorePath'
    }

    It 'keeps its properties for scripts: Duration is a TimeSpan, the counts are numbers' {
        $summary.Duration | Should -BeOfType [timespan]
        ($summary | Select-Object Claimed, Completed | ConvertTo-Json -Compress) | Should -Be '{"Claimed":3,"Completed":3}'
    }
}

Describe 'The Repair-LlmTaskStore result' {
    BeforeAll {
        $null = 'one', 'two' | Start-LlmTask -Model mock/echo -Wait
        $script:result = Repair-LlmTaskStore -Destination (Join-Path $script:folder 'recovered.db')
    }

    It 'shows what was recovered and lost, whole, in a table at 80 columns' {
        $table = $result | Format-Table | Out-String -Width 80
        $header = Get-Header $table
        foreach ($column in 'TasksRecovered', 'TasksLost', 'AttemptsRecovered', 'AttemptsLost', 'SourceCheck') {
            $header | Should -Match "(^|\s)$column(\s|$)" -Because "the table should show $column whole: $header"
        }

        ($table -split "`n" | Where-Object { $_.Length -gt 80 }) | Should -BeNullOrEmpty
    }

    It 'lists the counts in its default view' {
        $text = $result | Out-String -Width 80
        $text | Should -Match 'TasksRecovered\s*:\s*[1-9]'
        $text | Should -Match 'Destination\s*:'
    }
}

#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0' }
# Who runs a store's tasks: reads never run anything; waits run the tasks they wait for that no live
# process holds; Invoke-LlmTaskWorker runs a store's left-over work. Other processes are real pwsh.

BeforeAll {
    $manifest = Join-Path $PSScriptRoot '../../out/LlmTasks/LlmTasks.psd1'
    Import-Module $manifest -Force
    $script:folder = Join-Path ([System.IO.Path]::GetTempPath()) "llmtasks-who-$([guid]::NewGuid())"
    $null = New-Item -ItemType Directory $script:folder
    $PSDefaultParameterValues['*-Llm*:StorePath'] = Join-Path $script:folder 'own.db'

    # Another pwsh, the way this one was started (dotnet pwsh.dll, or the pwsh executable).
    function Invoke-OtherPwsh([string] $Command, [hashtable] $Environment = @{}) {
        $exe = (Get-Process -Id $PID).Path
        $arguments = @()
        if ([System.IO.Path]::GetFileNameWithoutExtension($exe) -eq 'dotnet') { $arguments += [Environment]::GetCommandLineArgs()[0] }
        $arguments += '-NoProfile', '-NonInteractive', '-Command', "Import-Module '$manifest'; $Command"
        $saved = @{}
        foreach ($name in $Environment.Keys) { $saved[$name] = [Environment]::GetEnvironmentVariable($name); [Environment]::SetEnvironmentVariable($name, $Environment[$name]) }
        try { & $exe @arguments } finally { foreach ($name in $saved.Keys) { [Environment]::SetEnvironmentVariable($name, $saved[$name]) } }
        if ($LASTEXITCODE -ne 0) { throw "pwsh exited with $LASTEXITCODE" }
    }

    # A store with work a session left behind when it exited: Pending and unleased, never started (they
    # were queued behind a call that kept the session's only slot), and one finished task. -Start says
    # what else that session started (after the blocker, so it never ran either).
    function New-LeftOverStore([string] $Name, [int] $Count = 3, [string] $Model = 'mock/delay:60000', [string] $Start = '') {
        $path = Join-Path $script:folder "$Name.db"
        Invoke-OtherPwsh ("`$PSDefaultParameterValues['*-Llm*:StorePath'] = '$path'; " +
            "`$null = Start-LlmTask 'finished' -Model mock/echo -Name done -Wait; " +
            "`$null = Start-LlmTask 'blocker' -Model mock/delay:600000 -Name blocker -ThrottleLimit 1; " +
            "`$null = 1..$Count | ForEach-Object { `"left `$_`" } | Start-LlmTask -Model $Model -Name left; $Start")
        Get-LlmTask -StorePath $path -Name blocker | Stop-LlmTask
        $path
    }

    # What a store holds, read as plain rows (the reads themselves are under test elsewhere).
    function Get-Leases([string] $Path) {
        Get-LlmTask -StorePath $Path -Name left | ForEach-Object { [pscustomobject]@{ State = "$($_.State)"; Owner = $_.Owner; Attempts = $_.Attempts } }
    }
}

AfterAll {
    Remove-Module LlmTasks -ErrorAction SilentlyContinue
    Remove-Item $script:folder -Recurse -Force -ErrorAction SilentlyContinue
}

Describe 'Reading a store runs nothing' {
    BeforeAll {
        $script:other = New-LeftOverStore other
        $script:before = Get-Leases $script:other
    }

    It 'starts from left-over work: Pending, unleased' {
        $script:before | Should -HaveCount 3
        $script:before.State | Sort-Object -Unique | Should -Be 'Pending'
        $script:before.Owner | Where-Object { $_ } | Should -BeNullOrEmpty
        $script:before.Attempts | Sort-Object -Unique | Should -Be 0
    }

    It 'Get-LlmTask, Get-LlmTaskAttempt, Receive-LlmTask, Invoke-LlmVerification and tab completion leave them Pending and unleased' {
        $all = Get-LlmTask -StorePath $script:other
        $all | Should -HaveCount 5
        $null = $all | Get-LlmTaskAttempt
        $left = $all | Where-Object Name -eq left
        $left | Receive-LlmTask -ErrorVariable notFinished -ErrorAction SilentlyContinue
        $notFinished | Should -HaveCount 3
        $notFinished[0].FullyQualifiedErrorId | Should -BeLike 'LlmTaskNotFinished,*'
        ($all | Where-Object Name -eq done | Invoke-LlmVerification -Verify @{ Type = 'NotEmpty' }).Passed | Should -BeTrue
        $line = "Get-LlmTask -StorePath '$script:other' -Name l"
        (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches.CompletionText | Should -Contain 'left'
        $line = "Start-LlmTask -StorePath '$script:other' -Model mock/d"
        (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches.CompletionText | Should -Contain 'mock/delay:60000'

        Start-Sleep -Seconds 3 # three claim intervals, had any of these opened a claiming manager
        Get-Leases $script:other | ConvertTo-Json | Should -Be ($script:before | ConvertTo-Json)
    }

    It 'Import-Module with the store as the default store leaves them alone' {
        Invoke-OtherPwsh "Start-Sleep -Seconds 3; Get-LlmTask -Name left | ForEach-Object { `"`$(`$_.State):`$(`$_.Owner)`" }" @{ LLMTASKS_STORE = $script:other } |
            Should -Be @('Pending:', 'Pending:', 'Pending:')
        Get-Leases $script:other | ConvertTo-Json | Should -Be ($script:before | ConvertTo-Json)
    }
}

Describe 'A wait runs the left-over tasks it waits for' {
    It 'Wait-LlmTask runs them here, and only them' {
        $path = New-LeftOverStore waited -Count 4 -Model mock/delay:50
        $left = Get-LlmTask -StorePath $path -Name left
        $done = $left | Select-Object -First 2 | Wait-LlmTask -Timeout 60
        $done.State | Should -Be @('Completed', 'Completed')
        Start-Sleep -Milliseconds 1500
        $rest = $left | Select-Object -Skip 2 | Get-LlmTask
        $rest.State | Should -Be @('Pending', 'Pending')
        $rest.Owner | Where-Object { $_ } | Should -BeNullOrEmpty
    }

    It 'Receive-LlmTask -Wait runs them too, and says so with -Verbose' {
        $path = New-LeftOverStore received -Count 2 -Model mock/delay:50
        $out = Get-LlmTask -StorePath $path -Name left | Receive-LlmTask -Wait -Verbose 4>&1
        @($out | Where-Object { $_ -is [string] }) | Sort-Object | Should -Be @('left 1', 'left 2')
        @($out | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }).Message | Where-Object { $_ -match 'Claimed 2 task\(s\) to run here' } | Should -HaveCount 1
    }
}

Describe 'Invoke-LlmTaskWorker' {
    It 'drains the left-over work with -UntilEmpty and writes a summary' {
        $path = New-LeftOverStore drained -Count 6 -Model mock/delay:50 -Start "`$null = Start-LlmTask 'bad' -Model mock/fail -Name left"
        $summary = Invoke-LlmTaskWorker -StorePath $path -UntilEmpty -ThrottleLimit 4
        $summary.PSObject.TypeNames[0] | Should -Be 'LlmTasks.LlmTaskWorkerSummary'
        $summary.EndReason | Should -Be 'QueueEmpty'
        $summary.Claimed | Should -Be 7
        $summary.Completed | Should -Be 6
        $summary.Failed | Should -Be 1
        $summary.HandedBack | Should -Be 0
        $summary.Duration | Should -BeOfType [timespan]
        (Get-LlmTask -StorePath $path -State Pending, Running) | Should -BeNullOrEmpty
    }

    It 'takes only tasks whose -Name and -Model match' {
        $path = New-LeftOverStore filtered -Count 2 -Model mock/delay:50 -Start (
            "`$null = 'x' | Start-LlmTask -Model mock/echo -Name nightly-1; `$null = 'y' | Start-LlmTask -Model mock/delay:50 -Name nightly-2")
        $summary = Invoke-LlmTaskWorker -StorePath $path -Name 'NIGHTLY*' -Model 'mock/d*' -UntilEmpty
        $summary.Completed | Should -Be 1
        (Get-LlmTask -StorePath $path -Name nightly-2).State | Should -Be 'Completed'
        (Get-LlmTask -StorePath $path -Name nightly-1).State | Should -Be 'Pending'
        (Get-LlmTask -StorePath $path -Name left).State | Should -Be @('Pending', 'Pending')
    }

    It 'narrates its claims with -Verbose' {
        $path = New-LeftOverStore narrated -Count 2 -Model mock/delay:50
        $verbose = Invoke-LlmTaskWorker -StorePath $path -UntilEmpty -Verbose 4>&1 | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }
        $verbose.Message | Should -Contain "Running the left-over work of the task store '$path' here as process $PID on $([Environment]::MachineName)."
        ($verbose.Message -match 'Claimed 2 task\(s\) to run here \(\d+-\d+\) for the worker') | Should -HaveCount 1
    }

    It 'refuses a write-protected store with LlmTaskStoreReadOnly' {
        $path = Join-Path $script:folder 'readonly.db'
        Invoke-OtherPwsh "`$null = Start-LlmTask 'x' -Model mock/echo -Wait -StorePath '$path'" # not opened in this session before it is protected
        (Get-Item $path).IsReadOnly = $true
        try {
            { Invoke-LlmTaskWorker -StorePath $path -UntilEmpty -ErrorAction Stop } |
                Should -Throw -ErrorId 'LlmTaskStoreReadOnly,LlmTasks.PowerShell.Commands.InvokeLlmTaskWorkerCommand'
        }
        finally { (Get-Item $path).IsReadOnly = $false }
    }
}

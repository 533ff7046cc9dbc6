#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0' }
# Streamed answers as users see them: -Stream writes each task's text to the host as it arrives (the information
# stream, from the cmdlet's own thread) and still writes the task objects; a task another shell runs shows its
# PartialOutput growing in Get-LlmTask here, and -Stream follows it. mock/stream:N streams the echo a word every N ms.

BeforeAll {
    $manifest = Join-Path $PSScriptRoot '../../out/LlmTasks/LlmTasks.psd1'
    Import-Module $manifest -Force
    $script:folder = Join-Path ([System.IO.Path]::GetTempPath()) "llmtasks-pester-stream-$([guid]::NewGuid())"
    New-Item -ItemType Directory -Path $script:folder | Out-Null
    $script:store = Join-Path $script:folder 'tasks.db'
    $PSDefaultParameterValues['*-Llm*:StorePath'] = $script:store

    # The text -Stream wrote, per task id, from its information records ('[Task n] ' labels, pieces, newlines).
    function script:Split-StreamedText([object[]] $Records) {
        $texts = @{}
        $current = $null
        foreach ($record in $Records | Where-Object { $_ -is [System.Management.Automation.InformationRecord] }) {
            $record.Tags | Should -Contain 'LlmTaskText'
            $message = [string]$record.MessageData
            if ($message -match '^\[Task (\d+)(, again)?\] $') {
                $current = [long]$Matches[1]
                if ($Matches[2] -or -not $texts.ContainsKey($current)) { $texts[$current] = '' }
            } elseif ($message -ne [Environment]::NewLine) {
                $current | Should -Not -BeNullOrEmpty -Because 'every piece follows its label'
                $texts[$current] += $message
            }
        }
        $texts
    }

    # A second real pwsh that runs one streamed task in the same store (its own session, its own engine).
    function script:Start-OtherShell([string] $Name, [string] $Prompt, [int] $EveryMs) {
        $file = Join-Path $script:folder "$Name.ps1"
        @"
Import-Module '$manifest'
`$null = Start-LlmTask -Prompt '$Prompt' -Model mock/stream:$EveryMs -Name '$Name' -StorePath '$($script:store)' -Wait
"@ | Set-Content -Path $file
        Start-Process -FilePath dotnet -ArgumentList @((Join-Path $PSHOME 'pwsh.dll'), '-NoProfile', '-NonInteractive', '-File', $file) -PassThru `
            -RedirectStandardOutput (Join-Path $script:folder "$Name.out") -RedirectStandardError (Join-Path $script:folder "$Name.err")
    }

    function script:Wait-Running([string] $Name) {
        $deadline = [DateTime]::UtcNow.AddSeconds(60)
        while ([DateTime]::UtcNow -lt $deadline) {
            $task = Get-LlmTask -Name $Name -ErrorAction SilentlyContinue
            if ($task.State -eq 'Running' -and $task.PartialOutput) { return $task }
            if ($task.State -in 'Completed', 'Failed') { throw "task $Name finished before it was seen streaming: $($task.State)" }
            Start-Sleep -Milliseconds 50
        }
        throw "task $Name never streamed"
    }

    $script:words = (1..40 | ForEach-Object { "word$_" }) -join ' '
}

AfterAll {
    Remove-Module LlmTasks -ErrorAction SilentlyContinue
    Remove-Item $script:folder -Recurse -Force -ErrorAction SilentlyContinue
}

Describe 'Start-LlmTask -Stream' {
    It 'writes the answer to the host piece by piece while the task runs, then the task object' {
        $records = Start-LlmTask 'one two three four five' -Model mock/stream:40 -Stream 6>&1
        $task = @($records | Where-Object { $_ -isnot [System.Management.Automation.InformationRecord] })
        $task | Should -HaveCount 1
        $task[0].State | Should -Be 'Completed'
        $task[0].Output | Should -Be 'one two three four five'
        $pieces = @($records | Where-Object { $_ -is [System.Management.Automation.InformationRecord] -and $_.MessageData -match 'one|two|three|four|five' })
        $pieces.Count | Should -BeGreaterThan 1 -Because 'the text arrives as it streams, not in one piece at the end'
        (Split-StreamedText $records)[$task[0].Id] | Should -Be $task[0].Output
        [array]::IndexOf(@($records), $task[0]) | Should -Be ($records.Count - 1) -Because 'the task is written after its text'
        $attempt = Get-LlmTaskAttempt -Id $task[0].Id
        $attempt.TimeToFirstToken | Should -Not -BeNullOrEmpty
        $attempt.Output | Should -Be 'one two three four five'
    }

    It 'labels the text of each of several tasks and writes the tasks in input order' {
        $records = 'alpha beta gamma', 'delta epsilon zeta' | Start-LlmTask -Model mock/stream:30 -Stream 6>&1
        $tasks = @($records | Where-Object { $_ -isnot [System.Management.Automation.InformationRecord] })
        $tasks.Output | Should -Be 'alpha beta gamma', 'delta epsilon zeta'
        $texts = Split-StreamedText $records
        $texts[$tasks[0].Id] | Should -Be 'alpha beta gamma'
        $texts[$tasks[1].Id] | Should -Be 'delta epsilon zeta'
    }

    It 'writes nothing but the task to the output, and 6>$null hides the text' {
        $out = Start-LlmTask 'quiet stream' -Model mock/stream:10 -Stream 6>$null
        @($out) | Should -HaveCount 1
        $out.Output | Should -Be 'quiet stream'
    }

    It 'shows an answer that is not streamed when its task finishes' {
        $records = Start-LlmTask 'whole answer' -Model mock/echo -Stream 6>&1
        $task = $records | Where-Object { $_ -isnot [System.Management.Automation.InformationRecord] }
        (Split-StreamedText $records)[$task.Id] | Should -Be 'whole answer'
    }

    It 'shows nothing of a task that fails but writes the task' {
        $records = Start-LlmTask 'x' -Model mock/fail -Stream 6>&1
        $task = $records | Where-Object { $_ -isnot [System.Management.Automation.InformationRecord] }
        $task.State | Should -Be 'Failed'
        (Split-StreamedText $records).Count | Should -Be 0
    }
}

Describe 'Receive-LlmTask -Stream and Wait-LlmTask -Stream' {
    It 'Receive-LlmTask -Stream waits and writes the text as it arrives' {
        $task = Start-LlmTask 'received in pieces' -Model mock/stream:40
        $records = $task | Receive-LlmTask -Stream 6>&1
        $answer = $records | Where-Object { $_ -isnot [System.Management.Automation.InformationRecord] }
        $answer | Should -Be 'received in pieces' -Because 'Receive-LlmTask writes the answer, as without -Stream'
        (Split-StreamedText $records)[$task.Id] | Should -Be 'received in pieces'
    }

    It 'Wait-LlmTask -Stream follows a task another shell runs, through its saved partial output' {
        $other = Start-OtherShell -Name 'followed' -Prompt $script:words -EveryMs 100
        try {
            $running = Wait-Running 'followed'
            $records = $running | Wait-LlmTask -Stream 6>&1
            $done = $records | Where-Object { $_ -isnot [System.Management.Automation.InformationRecord] }
            $done.State | Should -Be 'Completed'
            $done.Output | Should -Be $script:words
            (Split-StreamedText $records)[$done.Id] | Should -Be $script:words
            $pieces = @($records | Where-Object { $_ -is [System.Management.Automation.InformationRecord] -and $_.MessageData -match 'word' })
            $pieces.Count | Should -BeGreaterThan 1 -Because 'the saved text is followed while it grows, not only shown at the end'
        } finally {
            $other.WaitForExit(60000) | Out-Null
            if (-not $other.HasExited) { $other.Kill() }
        }
    }
}

Describe 'PartialOutput' {
    It 'grows in Get-LlmTask while another shell streams the task, and is gone once it completes' {
        $other = Start-OtherShell -Name 'growing' -Prompt $script:words -EveryMs 100
        try {
            $seen = [System.Collections.Generic.List[string]]::new()
            $task = Wait-Running 'growing'
            while ($task.State -eq 'Running') {
                if ($task.PartialOutput -and ($seen.Count -eq 0 -or $seen[-1] -ne $task.PartialOutput)) { $seen.Add($task.PartialOutput) }
                Start-Sleep -Milliseconds 100
                $task = Get-LlmTask -Name 'growing'
            }
            $other.WaitForExit(60000) | Should -BeTrue
            $task = $task | Wait-LlmTask
            $task.State | Should -Be 'Completed'
            $task.PartialOutput | Should -BeNullOrEmpty
            $seen.Count | Should -BeGreaterThan 1 -Because 'the saved text grows while the answer streams'
            for ($i = 1; $i -lt $seen.Count; $i++) {
                $seen[$i].Length | Should -BeGreaterThan $seen[$i - 1].Length
                $seen[$i].StartsWith($seen[$i - 1]) | Should -BeTrue
            }
            $task.Output.StartsWith($seen[-1]) | Should -BeTrue
        } finally {
            if (-not $other.HasExited) { $other.Kill() }
        }
    }

    It 'is shown in the list view of a running task' {
        $other = Start-OtherShell -Name 'listed' -Prompt $script:words -EveryMs 100
        try {
            $running = Wait-Running 'listed'
            $text = $running | Format-List | Out-String -Width 200
            $text | Should -Match 'PartialOutput\s*:\s*word1 word2'
        } finally {
            $other.WaitForExit(60000) | Out-Null
            if (-not $other.HasExited) { $other.Kill() }
        }
    }
}

#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0' }
# Every parameter set of every cmdlet, run the way scripts use it: with the Utility cmdlets people pipe
# tasks through (Select-Object, Sort-Object, Group-Object, Measure-Object, ConvertTo-Json/ConvertFrom-Json,
# Export-Csv/Import-Csv, Export-Clixml/Import-Clixml, Format-Table/Format-List at 80 and 120 columns,
# Start-Job, Start-ThreadJob, ForEach-Object -Parallel). Each It names the parameter set it runs; the last
# one fails when a cmdlet has a parameter set that no It here ran.

BeforeAll {
    $manifest = Join-Path $PSScriptRoot '../../out/LlmTasks/LlmTasks.psd1'
    Import-Module $manifest -Force
    $script:manifest = (Resolve-Path $manifest).Path
    $script:folder = Join-Path ([System.IO.Path]::GetTempPath()) "llmtasks-cmdlets-$([guid]::NewGuid())"
    New-Item -ItemType Directory -Path $script:folder | Out-Null
    $script:store = Join-Path $script:folder 'tasks.db'
    $PSDefaultParameterValues['*-Llm*:StorePath'] = $script:store
    $script:ran = [System.Collections.Generic.List[string]]::new()

    # Each It says which parameter set it runs, first, so the coverage check sees it even if it fails.
    function script:Covers([string[]] $Set) { $script:ran.AddRange($Set) }

    # A name no other It uses, so each works on its own tasks in the shared store.
    function script:New-Prefix { "c$([guid]::NewGuid().ToString('n').Substring(0, 8))" }

    # Rendered as a terminal of that width shows it: no line wider, and the text back for assertions.
    function script:Show($InputObject, [int] $Width, [switch] $List) {
        $text = if ($List) { $InputObject | Format-List | Out-String -Width $Width } else { $InputObject | Format-Table | Out-String -Width $Width }
        @($text -split "`r?`n" | Where-Object { $_.Length -gt $Width }) | Should -BeNullOrEmpty -Because "nothing should be wider than $Width columns"
        $text
    }

    # Another pwsh, the way this one was started, for work a session left behind when it exited.
    function script:Invoke-OtherPwsh([string] $Command) {
        $exe = (Get-Process -Id $PID).Path
        $arguments = @()
        if ([System.IO.Path]::GetFileNameWithoutExtension($exe) -eq 'dotnet') { $arguments += [Environment]::GetCommandLineArgs()[0] }
        $arguments += '-NoProfile', '-NonInteractive', '-Command', "Import-Module '$script:manifest'; $Command"
        & $exe @arguments
        if ($LASTEXITCODE -ne 0) { throw "pwsh exited with $LASTEXITCODE" }
    }

    # Tasks that end in NeedsReview (a non-JSON answer to a Json check), for Approve-LlmTask.
    function script:New-ReviewTask([string] $Name, [int] $Count = 1) {
        1..$Count | ForEach-Object { "review $_" } |
            Start-LlmTask -Model mock/echo -MockResponse 'not json' -Verify @{ Type = 'Json' } -Name $Name -Wait
    }
}

AfterAll {
    $PSDefaultParameterValues.Remove('*-Llm*:StorePath')
    Remove-Module LlmTasks -ErrorAction SilentlyContinue
    Remove-Item $script:folder -Recurse -Force -ErrorAction SilentlyContinue
}

Describe 'Start-LlmTask' {
    It 'starts tasks from -Prompt arrays, piped strings, CSV rows, JSON lines and -Messages objects, and -Continue' {
        Covers 'Start-LlmTask/__AllParameterSets'
        $p = New-Prefix
        $csv = Join-Path $script:folder "$p.csv"
        @(
            [pscustomobject]@{ Prompt = 'row one'; Name = "$p-csv"; Model = 'mock/echo'; Temperature = '0.5' }
            [pscustomobject]@{ Prompt = 'row two'; Name = "$p-csv"; Model = 'mock/echo'; Temperature = '' }
        ) | Export-Csv -Path $csv -NoTypeInformation
        $fromCsv = Import-Csv $csv | Start-LlmTask -Wait
        $fromCsv.Output | Should -Be @('row one', 'row two')
        $fromCsv.Request.Temperature | Should -Be @(0.5, $null)

        $lines = "{`"prompt`": `"json one`", `"model`": `"mock/echo`", `"name`": `"$p-json`"}",
                 "{`"messages`": [{`"role`": `"user`", `"content`": `"json two`"}], `"model`": `"mock/echo`", `"name`": `"$p-json`"}"
        ($lines | ConvertFrom-Json | Start-LlmTask -Wait).Output | Should -Be @('json one', 'json two')

        (Start-LlmTask -Prompt 'array one', 'array two' -Model mock/echo -Name "$p-array" -Wait).Output | Should -Be @('array one', 'array two')
        $messages = '[{"role": "user", "content": "Hi, I am Ada."}, {"role": "assistant", "content": "Hello."}, {"role": "user", "content": "Who am I?"}]' | ConvertFrom-Json
        $conversation = Start-LlmTask -Messages $messages -System 'Be brief.' -Model mock/echo -Name "$p-array" -Wait
        $conversation.Output | Should -Be 'Who am I?'
        ($conversation | Start-LlmTask -Continue -Prompt 'And now?' -Wait).Output | Should -Be 'And now?'

        $all = Get-LlmTask -Name "$p-*"
        ($all | Group-Object Name | Sort-Object Name | ForEach-Object { "$($_.Name)=$($_.Count)" }) | Should -Be @("$p-array=4", "$p-csv=2", "$p-json=2")
        ($all | Measure-Object InputTokens -Sum).Sum | Should -BeGreaterThan 0
        ($all | Sort-Object Id -Descending | Select-Object -First 1).Output | Should -Be 'And now?'
        (Show $all 80) | Should -Match 'row one'
        (Show $all 120) | Should -Match 'json two'
    }
}

Describe 'Get-LlmTask' {
    BeforeAll {
        $script:get = New-Prefix
        $script:getTasks = 'g1', 'g2', 'g3' | Start-LlmTask -Model mock/echo -Name $script:get -Wait
        $script:getFailed = Start-LlmTask 'g4' -Model mock/fail -Name $script:get -Wait
    }

    It 'Id set: every task without parameters, or -Id, narrowed by -State and -Newest' {
        Covers 'Get-LlmTask/Id'
        @(Get-LlmTask).Count | Should -BeGreaterOrEqual 4
        $ids = $script:getTasks.Id
        (Get-LlmTask -Id $ids).Id | Should -Be $ids
        (Get-LlmTask -Id ($ids + $script:getFailed.Id) -State Failed).Id | Should -Be $script:getFailed.Id
        (Get-LlmTask -Id $ids -Newest 1).Id | Should -Be $ids[-1]
        $json = Get-LlmTask -Id $ids | Select-Object Id, Name, State, Output | ConvertTo-Json | ConvertFrom-Json
        $json.Output | Should -Be @('g1', 'g2', 'g3')
        ($json | Get-LlmTask).Id | Should -Be $ids
    }

    It 'InputObject set: positional ids and names, Clixml, Start-Job, Start-ThreadJob and ForEach-Object -Parallel' {
        Covers 'Get-LlmTask/InputObject'
        (Get-LlmTask $script:getTasks[0].Id).Output | Should -Be 'g1'
        @(Get-LlmTask $script:get).Count | Should -Be 4
        $xml = Join-Path $script:folder "$script:get.xml"
        $script:getTasks | Export-Clixml -Path $xml
        (Import-Clixml $xml | Get-LlmTask).Output | Should -Be @('g1', 'g2', 'g3')

        $name = $script:get
        $fromJob = Start-Job { Import-Module $using:script:manifest; Get-LlmTask -StorePath $using:script:store -Name $using:name -State Completed } | Receive-Job -Wait -AutoRemoveJob
        ($fromJob | Get-LlmTask).Output | Should -Be @('g1', 'g2', 'g3')
        $fromThread = Start-ThreadJob { Import-Module $using:script:manifest; Get-LlmTask -StorePath $using:script:store -Name $using:name -State Failed } | Receive-Job -Wait -AutoRemoveJob
        ($fromThread | Get-LlmTask).State | Should -Be 'Failed'
        $parallel = 1..2 | ForEach-Object -Parallel { Import-Module $using:script:manifest; Start-LlmTask "parallel $_" -Model mock/echo -Name $using:name -StorePath $using:script:store -Wait }
        ($parallel | Get-LlmTask | Sort-Object Output).Output | Should -Be @('parallel 1', 'parallel 2')
    }

    It 'Name set: wildcards with -State, -Model, -Newest, -After and -Before' {
        Covers 'Get-LlmTask/Name'
        @(Get-LlmTask -Name "$($script:get.Substring(0, 6))*" -State Completed -Model 'mock/ec*').Count | Should -BeGreaterOrEqual 3
        (Get-LlmTask -Name $script:get -State Failed).Output | Should -BeNullOrEmpty
        (Get-LlmTask -Name $script:get -After (Get-Date).AddHours(-1) -Before (Get-Date).AddHours(1) -Newest 1).Id | Should -Be (Get-LlmTask -Name $script:get | Select-Object -Last 1).Id
        (Show (Get-LlmTask -Name $script:get) 80 -List) | Should -Match 'Prompt\s+: g1'
    }

    It 'InstanceId set: GUIDs, as Export-Csv keeps them' {
        Covers 'Get-LlmTask/InstanceId'
        $csv = Join-Path $script:folder "$script:get-instances.csv"
        $script:getTasks | Select-Object InstanceId | Export-Csv -Path $csv -NoTypeInformation
        (Get-LlmTask -InstanceId (Import-Csv $csv).InstanceId).Output | Should -Be @('g1', 'g2', 'g3')
    }
}

Describe 'Get-LlmTaskAttempt' {
    BeforeAll {
        $script:att = New-Prefix
        $script:attTask = Start-LlmTask 'give json' -Model mock/sequence -MockResponse 'no', '{"ok": true}' -Verify @{ Type = 'Json' } -MaxAttempts 2 -Name $script:att -Wait
    }

    It 'Id set: every attempt in the store without parameters, or -Id' {
        Covers 'Get-LlmTaskAttempt/Id'
        @(Get-LlmTaskAttempt).Count | Should -BeGreaterOrEqual 2
        $attempts = Get-LlmTaskAttempt -Id $script:attTask.Id
        $attempts.Outcome | Should -Be @('Failed', 'Succeeded')
        ($attempts | Measure-Object OutputTokens -Sum).Sum | Should -BeGreaterThan 0
    }

    It 'InputObject set: piped tasks, grouped by outcome and rendered at 80 columns' {
        Covers 'Get-LlmTaskAttempt/InputObject'
        $groups = $script:attTask | Get-LlmTaskAttempt | Group-Object Outcome -NoElement | Sort-Object Name
        ($groups | ForEach-Object { "$($_.Name)=$($_.Count)" }) | Should -Be @('Failed=1', 'Succeeded=1')
        (Show ($script:attTask | Get-LlmTaskAttempt) 80) | Should -Match 'Succeeded'
    }

    It 'Name set: the conversation each call sent, in Format-List' {
        Covers 'Get-LlmTaskAttempt/Name'
        $text = Show (Get-LlmTaskAttempt -Name $script:att | Select-Object -Last 1) 120 -List
        $text | Should -Match '\[user\] give json'
        $text | Should -Match '\[assistant\] no'
    }

    It 'InstanceId set' {
        Covers 'Get-LlmTaskAttempt/InstanceId'
        (Get-LlmTaskAttempt -InstanceId $script:attTask.InstanceId).Number | Should -Be @(1, 2)
    }
}

Describe 'Wait-LlmTask' {
    It 'Id set: -Id with -Timeout, in input order' {
        Covers 'Wait-LlmTask/Id'
        $tasks = (Start-LlmTask 'slow' -Model mock/delay:400), (Start-LlmTask 'fast' -Model mock/delay:50)
        (Wait-LlmTask -Id $tasks.Id -Timeout 60).Output | Should -Be @('slow', 'fast')
    }

    It 'InputObject set: tasks deserialized by Start-Job, waited here and received in input order' {
        Covers 'Wait-LlmTask/InputObject'
        $p = New-Prefix
        $started = Start-Job {
            Import-Module $using:script:manifest
            # Started in the job and waited there, so its process never ends holding them.
            'job one', 'job two' | Start-LlmTask -Model mock/delay:100 -Name $using:p -StorePath $using:script:store -Wait
        } | Receive-Job -Wait -AutoRemoveJob
        $started[0].PSObject.TypeNames[0] | Should -Be 'Deserialized.LlmTasks.LlmTask'
        ($started | Wait-LlmTask | Receive-LlmTask) | Should -Be @('job one', 'job two')
    }

    It 'Name set: -Name with wildcards, -InCompletionOrder' {
        Covers 'Wait-LlmTask/Name'
        $p = New-Prefix
        $null = 300, 50 | ForEach-Object { Start-LlmTask "after $_" -Model "mock/delay:$_" -Name "$p-$_" }
        (Wait-LlmTask -Name "$p-*" -InCompletionOrder).Output | Should -Be @('after 50', 'after 300')
    }

    It 'InstanceId set: -Any' {
        Covers 'Wait-LlmTask/InstanceId'
        $tasks = (Start-LlmTask 'long' -Model mock/delay:3000), (Start-LlmTask 'short' -Model mock/echo)
        (Wait-LlmTask -InstanceId $tasks.InstanceId -Any).Output | Should -Be 'short'
        $tasks | Stop-LlmTask
    }
}

Describe 'Receive-LlmTask' {
    BeforeAll {
        $script:rec = New-Prefix
        $script:recTasks = 'r1', 'r2' | Start-LlmTask -Model mock/echo -Name $script:rec -Wait
    }

    It 'Id set: answers with their TaskId, through Export-Csv' {
        Covers 'Receive-LlmTask/Id'
        $answers = Receive-LlmTask -Id $script:recTasks.Id
        $answers | Should -Be @('r1', 'r2')
        $csv = Join-Path $script:folder "$script:rec-answers.csv"
        $answers | Select-Object @{ Name = 'Answer'; Expression = { "$_" } }, TaskId | Export-Csv -Path $csv -NoTypeInformation
        (Import-Csv $csv).TaskId | Should -Be @("$($script:recTasks[0].Id)", "$($script:recTasks[1].Id)")
    }

    It 'InputObject set: tasks made by ForEach-Object -Parallel, -Wait, with the error of a failed one' {
        Covers 'Receive-LlmTask/InputObject'
        $p = New-Prefix
        $tasks = 'p1', 'p2' | ForEach-Object -Parallel { Import-Module $using:script:manifest; Start-LlmTask $_ -Model mock/delay:100 -Name $using:p -StorePath $using:script:store } |
            Sort-Object Id
        # The parallel runspaces may store p2 first: the answers come in the order of the tasks piped in.
        ($tasks | Receive-LlmTask -Wait) | Should -Be @($tasks.Prompt)
        @($tasks.Prompt | Sort-Object) | Should -Be @('p1', 'p2')
        $failed = Start-LlmTask 'broken' -Model mock/fail -Wait
        $failed | Receive-LlmTask -ErrorAction SilentlyContinue -ErrorVariable problems
        $problems[0].FullyQualifiedErrorId | Should -BeLike 'LlmTaskFailed,*'
        $problems[0].CategoryInfo.Category | Should -Be 'InvalidResult'
    }

    It 'Name set: JSON answers as objects, sorted and converted back' {
        Covers 'Receive-LlmTask/Name'
        $p = New-Prefix
        $null = '{"n": 2}', '{"n": 1}' | ForEach-Object { Start-LlmTask 'n?' -Model mock/echo -ResponseFormat Json -MockResponse $_ -Name $p -Wait }
        (Receive-LlmTask -Name $p | Sort-Object n | Select-Object n | ConvertTo-Json -Compress) | Should -Be '[{"n":1},{"n":2}]'
    }

    It 'InstanceId set' {
        Covers 'Receive-LlmTask/InstanceId'
        Receive-LlmTask -InstanceId $script:recTasks[1].InstanceId | Should -Be 'r2'
    }
}

Describe 'Stop-LlmTask' {
    It 'Id set: -Id, -PassThru' {
        Covers 'Stop-LlmTask/Id'
        $task = Start-LlmTask 'stop me' -Model mock/delay:60000
        (Stop-LlmTask -Id $task.Id -PassThru).State | Should -Be 'Cancelled'
    }

    It 'InputObject set: rows with an InstanceId from Import-Csv, -WhatIf first' {
        Covers 'Stop-LlmTask/InputObject'
        $tasks = 'a', 'b' | Start-LlmTask -Model mock/delay:60000
        $csv = Join-Path $script:folder "stop-$(New-Prefix).csv"
        $tasks | Select-Object InstanceId | Export-Csv -Path $csv -NoTypeInformation
        Import-Csv $csv | Stop-LlmTask -WhatIf
        ($tasks | Get-LlmTask).State | Should -Not -Contain 'Cancelled'
        (Import-Csv $csv | Stop-LlmTask -PassThru).State | Should -Be @('Cancelled', 'Cancelled')
    }

    It 'Name set: every unfinished task of a name' {
        Covers 'Stop-LlmTask/Name'
        $p = New-Prefix
        $null = 'a', 'b', 'c' | Start-LlmTask -Model mock/delay:60000 -Name $p
        Stop-LlmTask -Name $p
        (Get-LlmTask -Name $p | Group-Object State -NoElement).Name | Should -Be 'Cancelled'
    }

    It 'InstanceId set' {
        Covers 'Stop-LlmTask/InstanceId'
        $task = Start-LlmTask 'stop me' -Model mock/delay:60000
        Stop-LlmTask -InstanceId $task.InstanceId
        ($task | Get-LlmTask).State | Should -Be 'Cancelled'
    }
}

Describe 'Remove-LlmTask' {
    It 'Id set: -WhatIf, then -Id' {
        Covers 'Remove-LlmTask/Id'
        $task = Start-LlmTask 'remove me' -Model mock/echo -Wait
        Remove-LlmTask -Id $task.Id -WhatIf
        Get-LlmTask -Id $task.Id | Should -Not -BeNullOrEmpty
        Remove-LlmTask -Id $task.Id
        Get-LlmTask -Id $task.Id -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
    }

    It 'Filter set: -State with -OlderThan for retention' {
        Covers 'Remove-LlmTask/Filter'
        $p = New-Prefix
        $null = Start-LlmTask 'cancel me' -Model mock/delay:60000 -Name $p | Stop-LlmTask -PassThru
        Remove-LlmTask -State Cancelled -OlderThan 00:00:00
        @(Get-LlmTask -State Cancelled) | Should -HaveCount 0
    }

    It 'InputObject set: tasks from Import-Clixml, and -Force for unfinished ones' {
        Covers 'Remove-LlmTask/InputObject'
        $p = New-Prefix
        $xml = Join-Path $script:folder "$p.xml"
        'x', 'y' | Start-LlmTask -Model mock/echo -Name $p -Wait | Export-Clixml -Path $xml
        Import-Clixml $xml | Remove-LlmTask
        @(Get-LlmTask -Name "$p*") | Should -HaveCount 0
        Start-LlmTask 'running' -Model mock/delay:60000 -Name $p | Remove-LlmTask -Force
        @(Get-LlmTask -Name "$p*") | Should -HaveCount 0
    }

    It 'Name set' {
        Covers 'Remove-LlmTask/Name'
        $p = New-Prefix
        $null = 'x', 'y' | Start-LlmTask -Model mock/echo -Name $p -Wait
        Remove-LlmTask -Name $p
        @(Get-LlmTask -Name "$p*") | Should -HaveCount 0
    }

    It 'InstanceId set' {
        Covers 'Remove-LlmTask/InstanceId'
        $task = Start-LlmTask 'remove me' -Model mock/echo -Wait
        Remove-LlmTask -InstanceId $task.InstanceId
        $task | Get-LlmTask -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
    }
}

Describe 'Approve-LlmTask' {
    It 'Id set: -Reason and -ApprovedBy are stored as an Approval check' {
        Covers 'Approve-LlmTask/Id'
        $task = New-ReviewTask (New-Prefix)
        $task.State | Should -Be 'NeedsReview'
        $approved = Approve-LlmTask -Id $task.Id -Reason 'Plain text is fine.' -ApprovedBy 'ada' -PassThru
        $approved.State | Should -Be 'Completed'
        $approval = $approved.Checks | Where-Object Type -EQ 'Approval'
        $approval.Reason | Should -Match 'Plain text is fine'
        $approval.Reason | Should -Match 'ada'
    }

    It 'InputObject set: every task that needs review, from Get-LlmTask, -WhatIf first' {
        Covers 'Approve-LlmTask/InputObject'
        $p = New-Prefix
        $null = New-ReviewTask $p 2
        Get-LlmTask -Name $p -State NeedsReview | Approve-LlmTask -WhatIf
        @(Get-LlmTask -Name $p -State NeedsReview) | Should -HaveCount 2
        (Get-LlmTask -Name $p -State NeedsReview | Approve-LlmTask -PassThru | Receive-LlmTask) | Should -Be @('not json', 'not json')
    }

    It 'Name set' {
        Covers 'Approve-LlmTask/Name'
        $p = New-Prefix
        $null = New-ReviewTask $p
        Approve-LlmTask -Name $p
        (Get-LlmTask -Name $p).State | Should -Be 'Completed'
    }

    It 'InstanceId set' {
        Covers 'Approve-LlmTask/InstanceId'
        $task = New-ReviewTask (New-Prefix)
        (Approve-LlmTask -InstanceId $task.InstanceId -PassThru).State | Should -Be 'Completed'
    }
}

Describe 'Restart-LlmTask' {
    It 'Id set: with another model, -Wait' {
        Covers 'Restart-LlmTask/Id'
        $task = Start-LlmTask 'again' -Model mock/fail -Wait
        $done = Restart-LlmTask -Id $task.Id -Model mock/echo -Wait
        $done.State | Should -Be 'Completed'
        $done.Model | Should -Be 'mock/echo'
        ($task | Get-LlmTaskAttempt).Outcome | Should -Be @('Failed', 'Succeeded')
    }

    It 'InputObject set: the failed tasks of a batch, -WhatIf first, in input order' {
        Covers 'Restart-LlmTask/InputObject'
        $p = New-Prefix
        $null = 'one', 'two' | Start-LlmTask -Model mock/fail -Name $p -Wait
        Get-LlmTask -Name $p -State Failed | Restart-LlmTask -WhatIf
        (Get-LlmTask -Name $p).State | Should -Be @('Failed', 'Failed')
        (Get-LlmTask -Name $p -State Failed | Restart-LlmTask -Model mock/delay:50 -Wait).Output | Should -Be @('one', 'two')
    }

    It 'Name set: cancelled tasks run again' {
        Covers 'Restart-LlmTask/Name'
        $p = New-Prefix
        $null = Start-LlmTask 'later' -Model mock/delay:60000 -Name $p | Stop-LlmTask -PassThru
        $null = Restart-LlmTask -Name $p -Model mock/echo
        (Wait-LlmTask -Name $p).Output | Should -Be 'later'
    }

    It 'InstanceId set' {
        Covers 'Restart-LlmTask/InstanceId'
        $task = Start-LlmTask 'again' -Model mock/fail -Wait
        (Restart-LlmTask -InstanceId $task.InstanceId -Model mock/echo -Wait).Output | Should -Be 'again'
    }
}

Describe 'Invoke-LlmVerification' {
    It 'InputObject set: lines of a file and tasks, in input order, as a table at 80 columns' {
        Covers 'Invoke-LlmVerification/InputObject'
        $file = Join-Path $script:folder "verify-$(New-Prefix).txt"
        '{"a": 1}', 'not json', '[1, 2]' | Set-Content -Path $file
        $results = Get-Content $file | Invoke-LlmVerification -Verify @{ Type = 'Json' }
        $results.Passed | Should -Be @($true, $false, $true)
        (Show $results 80) | Should -Match 'Json'
        ($results | Where-Object Passed | Measure-Object).Count | Should -Be 2
        $task = Start-LlmTask '{"b": 2}' -Model mock/echo -Wait
        $task | Invoke-LlmVerification -Verify @{ Type = 'FieldPresent'; Path = 'b'; Value = 2 } -Quiet | Should -BeTrue
    }

    It 'Id set: results stored with the task' {
        Covers 'Invoke-LlmVerification/Id'
        $task = Start-LlmTask 'plain' -Model mock/echo -Wait
        (Invoke-LlmVerification -Id $task.Id -Verify @{ Type = 'Contains'; Text = 'nope' }).Passed | Should -BeFalse
        ($task | Get-LlmTask).FailedChecks.Type | Should -Be 'Contains'
    }

    It 'InstanceId set: -Quiet, -FailFast' {
        Covers 'Invoke-LlmVerification/InstanceId'
        $task = Start-LlmTask 'plain' -Model mock/echo -Wait
        Invoke-LlmVerification -InstanceId $task.InstanceId -Verify @{ Type = 'Json' }, @{ Type = 'NotEmpty' } -FailFast -Quiet | Should -BeFalse
    }
}

Describe 'Invoke-LlmTaskWorker' {
    It 'runs work an exited session left, filtered by -Name and -Model, and its summary converts to JSON' {
        Covers 'Invoke-LlmTaskWorker/__AllParameterSets'
        $store = Join-Path $script:folder "worker-$(New-Prefix).db"
        # Queued behind a call that keeps that session's only slot, so never started there.
        Invoke-OtherPwsh ("`$PSDefaultParameterValues['*-Llm*:StorePath'] = '$store'; " +
            "`$null = Start-LlmTask 'blocker' -Model mock/delay:600000 -Name blocker -ThrottleLimit 1; " +
            "`$null = 'w1', 'w2' | Start-LlmTask -Model mock/echo -Name work; `$null = Start-LlmTask 'other' -Model mock/echo -Name other")
        Get-LlmTask -StorePath $store -Name blocker | Stop-LlmTask
        $summary = Invoke-LlmTaskWorker -StorePath $store -Name 'wor*' -Model 'mock/*' -ThrottleLimit 2 -UntilEmpty
        $summary.Claimed | Should -Be 2
        $summary.Completed | Should -Be 2
        ($summary | Select-Object Claimed, Completed, Failed, EndReason | ConvertTo-Json -Compress) | Should -Be '{"Claimed":2,"Completed":2,"Failed":0,"EndReason":"QueueEmpty"}'
        (Get-LlmTask -StorePath $store -Name other).State | Should -Be 'Pending'
    }
}

Describe 'Repair-LlmTaskStore' {
    It 'copies a store into a new one, -WhatIf first, and the copy reads the same' {
        Covers 'Repair-LlmTaskStore/__AllParameterSets'
        $destination = Join-Path $script:folder "repaired-$(New-Prefix).db"
        Repair-LlmTaskStore -Destination $destination -WhatIf
        Test-Path $destination | Should -BeFalse
        $result = Repair-LlmTaskStore -Destination $destination
        $result.TasksLost | Should -Be 0
        (Get-LlmTask -StorePath $destination | Measure-Object).Count | Should -Be $result.TasksRecovered
        (Show $result 80) | Should -Match 'TasksRecovered'
    }
}

Describe 'Get-LlmTaskBatch' {
    It 'writes the batches of piped tasks, and batches by id, state and newest' {
        Covers 'Get-LlmTaskBatch/Id', 'Get-LlmTaskBatch/Task'
        $p = New-Prefix
        $tasks = 'b1', 'b2' | Start-LlmTask -Model mock/echo -MockResponse 'batched' -AsBatch -Name $p | Wait-LlmTask -Timeout 120
        $tasks.Output | Should -Be 'batched', 'batched'
        $batch = $tasks | Get-LlmTaskBatch
        @($batch) | Should -HaveCount 1
        $batch.RequestCount | Should -Be 2
        (Get-LlmTaskBatch -Id $batch.Id -State Completed).Id | Should -Be $batch.Id
        (Get-LlmTaskBatch -Newest 1).Id | Should -Be $batch.Id
        (Show $batch 80) | Should -Match '2 of 2'
    }
}

Describe 'Get-LlmModel' {
    It 'lists models for Where-Object, Sort-Object, Group-Object and ConvertTo-Json, and tables at 80 and 120 columns' {
        Covers 'Get-LlmModel/__AllParameterSets'
        $models = Get-LlmModel -Provider openai -Capability FunctionCalling
        ($models | Group-Object Provider).Name | Should -Be 'openai'
        ($models | Where-Object Model -eq 'openai/gpt-4o-mini').ContextWindow | Should -Be 128000
        ($models | Sort-Object OutputUsdPerMillion -Descending | Select-Object -First 1).OutputUsdPerMillion | Should -BeGreaterThan 10
        ($models | Measure-Object).Count | Should -BeGreaterThan 10
        $json = Get-LlmModel openai/gpt-4o-mini | ConvertTo-Json | ConvertFrom-Json
        $json.InputUsdPerMillion | Should -Be 0.15
        $json.Capabilities | Should -Contain 'Vision'
        (Show (Get-LlmModel openai/gpt-4o-mini, anthropic/claude-haiku-4-5) 80) | Should -Match 'anthropic/claude-haiku-4-5\s+200,000'
        (Show (Get-LlmModel openai/gpt-4o-mini) 120 -List) | Should -Match 'BatchInputUsdPerMillion\s+: 0\.075'
        ('openai/gpt-4o', 'gpt-4.1-mini' | Get-LlmModel -Provider openai).Model | Should -Be @('openai/gpt-4.1-mini', 'openai/gpt-4o') # in the map's order, as Get-Process sorts
    }
}

Describe 'Rate limits' {
    AfterAll { Get-LlmRateLimit | Where-Object Source -eq Session | Remove-LlmRateLimit }

    It 'Set-LlmRateLimit, Get-LlmRateLimit and Remove-LlmRateLimit round-trip through the pipeline and Import-Csv' {
        Covers 'Set-LlmRateLimit/__AllParameterSets', 'Get-LlmRateLimit/__AllParameterSets', 'Remove-LlmRateLimit/__AllParameterSets'
        $set = Set-LlmRateLimit openai/gpt-4o-mini, ollama -RequestsPerMinute 500 -TokensPerMinute 200000 -PassThru
        $set.Scope | Should -Be @('openai/gpt-4o-mini', 'ollama')
        $set.Source | Should -Be @('Session', 'Session')
        Set-LlmRateLimit openai/gpt-4o -RequestsPerMinute 10 -WhatIf
        Get-LlmRateLimit openai/gpt-4o | Should -BeNullOrEmpty
        (Show (Get-LlmRateLimit) 80) | Should -Match 'openai/gpt-4o-mini\s+500\s+200,000 Session'
        $csv = Join-Path $script:folder 'limits.csv'
        Get-LlmRateLimit | Select-Object Scope, @{ n = 'RequestsPerMinute'; e = { $_.RequestsPerMinute * 2 } }, TokensPerMinute | Export-Csv $csv -NoTypeInformation
        Import-Csv $csv | Set-LlmRateLimit
        (Get-LlmRateLimit ollama).RequestsPerMinute | Should -Be 1000
        Get-LlmRateLimit -Model 'open*' | Remove-LlmRateLimit
        (Get-LlmRateLimit).Scope | Should -Be 'ollama'
        Remove-LlmRateLimit ollama
        Get-LlmRateLimit | Where-Object Source -eq Session | Should -BeNullOrEmpty
    }

    It 'Set-LlmBudget, Get-LlmBudget and Remove-LlmBudget round-trip through the pipeline and Import-Csv' {
        Covers 'Set-LlmBudget/__AllParameterSets', 'Get-LlmBudget/__AllParameterSets', 'Remove-LlmBudget/__AllParameterSets'
        $csv = Join-Path $script:folder 'budgets.csv'
        @(
            [pscustomobject]@{ Scope = 'store'; Period = 'Day'; MaxCostUsd = '5' }
            [pscustomobject]@{ Scope = 'reviews*'; Period = 'Month'; MaxCostUsd = '40.5' }
        ) | Export-Csv $csv -NoTypeInformation
        $set = Import-Csv $csv | Set-LlmBudget -PassThru
        $set.Scope | Should -Be @('store', 'reviews*')
        (Get-LlmBudget -Scope 'rev*').MaxCostUsd | Should -Be 40.5
        Get-LlmBudget | Remove-LlmBudget
        Get-LlmBudget | Should -BeNullOrEmpty
    }
}

Describe 'Task boards' {
    It 'Start-, Get- and Stop-LlmTaskBoard serve the store with its token, list the board and stop it' {
        Covers 'Start-LlmTaskBoard/__AllParameterSets', 'Get-LlmTaskBoard/__AllParameterSets', 'Stop-LlmTaskBoard/__AllParameterSets'
        $p = New-Prefix
        'one', 'two' | Start-LlmTask -Model mock/echo -Name $p -Wait | Out-Null
        $board = Start-LlmTaskBoard -NoBrowser
        $board.Url | Should -Match '^http://127\.0\.0\.1:\d+/\?token=[A-Za-z0-9_-]{32}$'
        $board.StorePath | Should -Be $script:store
        $base = "http://127.0.0.1:$($board.Port)"

        (Invoke-WebRequest "$base/tasks" -SkipHttpErrorCheck).StatusCode | Should -Be 403
        (Invoke-WebRequest "$base/tasks?token=guess" -SkipHttpErrorCheck).StatusCode | Should -Be 403
        $null = Invoke-WebRequest $board.Url -SessionVariable web
        $page = Invoke-WebRequest "$base/tasks?name=$p" -WebSession $web
        $page.Content | Should -Match 'of 2 tasks'
        (Invoke-WebRequest "$base/tasks/1/remove" -Method Post -WebSession $web -SkipHttpErrorCheck).StatusCode | Should -Be 403

        $listed = Get-LlmTaskBoard | Select-Object Id, Port, AllowActions, StorePath | ConvertTo-Json | ConvertFrom-Json
        $listed.Port | Should -Be $board.Port
        $listed.AllowActions | Should -BeFalse
        (Show (Get-LlmTaskBoard -Id $board.Id) 120) | Should -Match "$($board.Id)\s+no\s+http://127\.0\.0\.1:$($board.Port)/\?token="
        (Show (Get-LlmTaskBoard -Id $board.Id) 80) | Should -Match ([regex]::Escape($board.Url)) # the whole URL, to copy from an 80-column console

        Stop-LlmTaskBoard -WhatIf
        (Get-LlmTaskBoard).Count | Should -Be 1
        Get-LlmTaskBoard -Id $board.Id | Stop-LlmTaskBoard
        Get-LlmTaskBoard | Should -BeNullOrEmpty
        $board.IsRunning | Should -BeFalse
        { Invoke-WebRequest $board.Url -TimeoutSec 5 } | Should -Throw
    }

    It 'refuses a bad port and an unknown board with their own errors, and keeps the store' {
        $before = @(Get-LlmTask).Count
        { Start-LlmTaskBoard -Port 70000 -NoBrowser } | Should -Throw -ErrorId 'LlmTaskInvalidBoardOption,*'
        $first = Start-LlmTaskBoard -NoBrowser
        try {
            $err = { Start-LlmTaskBoard -Port $first.Port -NoBrowser } | Should -Throw -PassThru
            $err.FullyQualifiedErrorId | Should -BeLike 'LlmTaskBoardPortUnavailable,*'
            $err.CategoryInfo.Category | Should -Be 'ResourceUnavailable'
            $err.Exception.Message | Should -Match "Port $($first.Port) on 127.0.0.1 is in use"
        } finally {
            $first | Stop-LlmTaskBoard
        }

        Get-LlmTaskBoard -Id 4242 -ErrorVariable missing -ErrorAction SilentlyContinue
        $missing[0].FullyQualifiedErrorId | Should -BeLike 'LlmTaskBoardNotFound,*'
        $missing[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
        Stop-LlmTaskBoard 4242 -ErrorAction SilentlyContinue -ErrorVariable stopMissing
        $stopMissing[0].FullyQualifiedErrorId | Should -BeLike 'LlmTaskBoardNotFound,*'
        @(Get-LlmTask).Count | Should -Be $before
    }

    It 'opens the browser with xdg-open where a desktop runs, and says why not where none does' -Skip:(-not $IsLinux) {
        $bin = Join-Path $script:folder 'fake-bin'
        New-Item -ItemType Directory $bin -Force | Out-Null
        $opened = Join-Path $script:folder 'opened.txt'
        Set-Content (Join-Path $bin 'xdg-open') "#!/bin/sh`necho `"`$1`" > '$opened'" -NoNewline
        chmod +x (Join-Path $bin 'xdg-open')
        $saved = $env:PATH, $env:DISPLAY, $env:WAYLAND_DISPLAY
        try {
            $env:PATH = "$bin$([IO.Path]::PathSeparator)$env:PATH"
            $env:DISPLAY = ':99'
            $board = Start-LlmTaskBoard
            $deadline = [DateTime]::UtcNow.AddSeconds(10)
            while (-not (Test-Path $opened) -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 100 }
            (Get-Content $opened -Raw).Trim() | Should -Be $board.Url
            $board | Stop-LlmTaskBoard

            $env:DISPLAY = $null
            $env:WAYLAND_DISPLAY = $null
            $quiet = Start-LlmTaskBoard -Verbose 4>&1
            ($quiet | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }).Message | Should -Match 'DISPLAY'
            $quiet | Where-Object { $_ -isnot [System.Management.Automation.VerboseRecord] } | Stop-LlmTaskBoard
        } finally {
            $env:PATH, $env:DISPLAY, $env:WAYLAND_DISPLAY = $saved
        }
    }

    It 'serves until the pipeline is stopped with -Wait, then closes its port' {
        $ps = [powershell]::Create()
        try {
            $null = $ps.AddScript("Import-Module '$script:manifest'; Start-LlmTaskBoard -StorePath '$script:store' -NoBrowser -Wait")
            $output = [System.Management.Automation.PSDataCollection[psobject]]::new()
            $run = $ps.BeginInvoke([System.Management.Automation.PSDataCollection[psobject]]::new(), $output)
            $deadline = [DateTime]::UtcNow.AddSeconds(30)
            while ($output.Count -eq 0 -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 100 }
            $board = $output[0]
            (Invoke-WebRequest $board.Url).StatusCode | Should -Be 200
            $ps.Stop()
            $board.IsRunning | Should -BeFalse
            { Invoke-WebRequest $board.Url -TimeoutSec 5 } | Should -Throw
        } finally {
            $ps.Dispose()
        }
    }
}

Describe 'Coverage' {
    It 'ran every parameter set of every cmdlet' {
        $sets = foreach ($command in Get-Command -Module LlmTasks -CommandType Cmdlet) {
            foreach ($set in $command.ParameterSets) { "$($command.Name)/$($set.Name)" }
        }

        @($sets | Where-Object { $_ -notin $script:ran } | Sort-Object) | Should -BeNullOrEmpty -Because 'each parameter set needs an It here that runs it'
        @($script:ran | Where-Object { $_ -notin $sets } | Sort-Object -Unique) | Should -BeNullOrEmpty -Because 'each It should name a parameter set the cmdlet has'
    }
}

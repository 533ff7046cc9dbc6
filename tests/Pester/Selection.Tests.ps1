#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0' }
# Which tasks a command names, as Get-Job users expect: positional ids and names, combined filters,
# CSV rows, Import-Clixml, Start-Job and thread-job results, ConvertTo-Json/ConvertFrom-Json; the
# cmdlets that change tasks refuse objects that merely have an Id; Restart-LlmTask's options.

BeforeAll {
    # One try per call: the Restart -ApiKey test calls a port nothing listens on.
    $env:LLMTASKS_MAX_RETRIES = '0'
    $script:manifest = (Resolve-Path (Join-Path $PSScriptRoot '../../out/LlmTasks/LlmTasks.psd1')).Path
    Import-Module $script:manifest -Force
    $script:store = Join-Path ([System.IO.Path]::GetTempPath()) "llmtasks-pester-selection-$([guid]::NewGuid()).db"
    # The PostgreSQL run (PesterSuiteTests) sets $env:LLMTASKS_STORE to a fresh database: the same tests on that store
    # (the other store stays a file, so tasks of both backends meet in one pipeline).
    if ($env:LLMTASKS_STORE -match '^postgres(ql)?://|(^|;)\s*Host\s*=') { $script:store = $env:LLMTASKS_STORE }
    $script:other = Join-Path ([System.IO.Path]::GetTempPath()) "llmtasks-pester-selection-other-$([guid]::NewGuid()).db"
    $PSDefaultParameterValues['*-Llm*:StorePath'] = $script:store

    $script:alpha = Start-LlmTask 'a1' -Model mock/echo -Name nightly-1 -Wait
    $script:beta = Start-LlmTask 'a2' -Model mock/fail -Name nightly-2 -Wait
    $script:gamma = Start-LlmTask 'b' -Model mock/delay:5 -Name weekly -Wait
    $script:elsewhere = Start-LlmTask 'in the other store' -Model mock/echo -Name elsewhere -StorePath $script:other -Wait
}

AfterAll {
    Remove-Module LlmTasks -ErrorAction SilentlyContinue
    Remove-Item @(@($script:store, $script:other) | Where-Object { $_ -like '*.db' } | ForEach-Object { "$_*" }) -ErrorAction SilentlyContinue
}

Describe 'Get-LlmTask selects as Get-Job does' {
    It 'takes a positional id, ids and names' {
        (Get-LlmTask $alpha.Id).Name | Should -Be 'nightly-1'
        (Get-LlmTask $alpha.Id, $gamma.Id).Name | Should -Be 'nightly-1', 'weekly'
        (Get-LlmTask nightly*).Name | Should -Be 'nightly-1', 'nightly-2'
        (Get-LlmTask weekly, nightly-1).Name | Should -Be 'weekly', 'nightly-1'
        (Get-LlmTask $gamma).Name | Should -Be 'weekly'
    }

    It 'completes a name given in the first position with Tab, as -Name does' {
        (TabExpansion2 -inputScript 'Get-LlmTask week' -cursorColumn 16).CompletionMatches.CompletionText | Should -Be 'weekly'
        (TabExpansion2 -inputScript 'Wait-LlmTask nightly-' -cursorColumn 21).CompletionMatches.CompletionText | Should -Be 'nightly-1', 'nightly-2'
    }

    It 'combines -Name with -State, -Model, -Newest, -After and -Before' {
        (Get-LlmTask -Name nightly* -State Completed).Name | Should -Be 'nightly-1'
        (Get-LlmTask -Name nightly* -State Failed, Completed -Newest 1).Name | Should -Be 'nightly-2'
        (Get-LlmTask -Model mock/d* -State Completed).Name | Should -Be 'weekly'
        (Get-LlmTask -Name nightly* -Model mock/echo).Name | Should -Be 'nightly-1'
        Get-LlmTask -Name nightly* -After ([datetime]::Now.AddMinutes(1)) | Should -BeNullOrEmpty
        (Get-LlmTask -Name nightly* -Before ([datetime]::Now.AddMinutes(1))).Count | Should -Be 2
        (Get-LlmTask nightly* -State Failed).Name | Should -Be 'nightly-2'
        (Get-LlmTask $alpha.Id, $beta.Id -State Failed).Name | Should -Be 'nightly-2'
        (Get-LlmTask -State Completed -Model mock/echo).Name | Should -Contain 'nightly-1'
    }

    It 'reports an exact name that matches nothing, and says how to ask for an id given as text' {
        Get-LlmTask -Name no-such -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -Be 'LlmTaskNotFound,LlmTasks.PowerShell.Commands.GetLlmTaskCommand'
        Get-LlmTask "$($alpha.Id)" -ErrorVariable asText -ErrorAction SilentlyContinue
        $asText[0].Exception.Message | Should -Match "-Id $($alpha.Id)"
    }

    It 'takes Export-Csv/Import-Csv rows: Id and InstanceId columns, and a StorePath column' {
        $path = Join-Path $TestDrive 'tasks.csv'
        $alpha, $elsewhere | Export-Csv -LiteralPath $path
        (Import-Csv -LiteralPath $path | Get-LlmTask).Name | Should -Be 'nightly-1', 'elsewhere'

        $ids = Join-Path $TestDrive 'ids.csv'
        "Id`n$($gamma.Id)`n$($alpha.Id)" | Set-Content -LiteralPath $ids
        (Import-Csv -LiteralPath $ids | Get-LlmTask).Name | Should -Be 'weekly', 'nightly-1'
        (Import-Csv -LiteralPath $ids | Wait-LlmTask).Name | Should -Be 'weekly', 'nightly-1'
        (Import-Csv -LiteralPath $ids | Receive-LlmTask) | Should -Be 'b', 'a1'
        (Import-Csv -LiteralPath $ids | Get-LlmTaskAttempt).TaskId | Should -Be $gamma.Id, $alpha.Id
    }

    It 'takes tasks through Export-Clixml/Import-Clixml and ConvertTo-Json/ConvertFrom-Json' {
        $xml = Join-Path $TestDrive 'tasks.xml'
        $alpha, $elsewhere | Export-Clixml -LiteralPath $xml
        $read = Import-Clixml -LiteralPath $xml
        $read[0].PSObject.TypeNames[0] | Should -Be 'Deserialized.LlmTasks.LlmTask'
        ($read | Get-LlmTask).Name | Should -Be 'nightly-1', 'elsewhere'
        ($read | Get-LlmTask).StorePath | Should -Be $alpha.StorePath, $elsewhere.StorePath

        $json = $alpha | Select-Object Id, InstanceId, Name, StorePath | ConvertTo-Json | ConvertFrom-Json
        ($json | Get-LlmTask).Name | Should -Be 'nightly-1'
    }

    It 'takes tasks deserialized by Start-Job and Receive-Job' {
        $job = Start-Job -ScriptBlock {
            param($manifest, $store)
            Import-Module $manifest
            Get-LlmTask -Name nightly* -StorePath $store
        } -ArgumentList $script:manifest, $script:store
        $received = $job | Receive-Job -Wait -AutoRemoveJob
        $received[0].PSObject.TypeNames[0] | Should -Be 'Deserialized.LlmTasks.LlmTask'
        ($received | Get-LlmTask).Name | Should -Be 'nightly-1', 'nightly-2'
        ($received | Receive-LlmTask -ErrorAction SilentlyContinue) | Should -Be 'a1'
    }

    It 'reads tasks created in a thread job and in ForEach-Object -Parallel' {
        $fromThread = Start-ThreadJob -ScriptBlock {
            Import-Module $using:manifest
            Start-LlmTask 'from a thread job' -Model mock/echo -StorePath $using:store -Wait
        } | Receive-Job -Wait -AutoRemoveJob
        ($fromThread | Get-LlmTask).Output | Should -Be 'from a thread job'

        $fromParallel = 1..3 | ForEach-Object -ThrottleLimit 3 -Parallel {
            Import-Module $using:manifest
            Start-LlmTask "parallel $_" -Model mock/echo -StorePath $using:store -Wait
        }
        ($fromParallel | Get-LlmTask | Sort-Object Id).Output | Should -Be ($fromParallel | Sort-Object Id).Output
        ($fromParallel | Wait-LlmTask | Receive-LlmTask | Sort-Object) | Should -Be 'parallel 1', 'parallel 2', 'parallel 3'
    }

    It 'refuses an object that names no task (LlmTaskInputNotTask) and a StorePath that names no file (LlmTaskStoreNotFound)' {
        Get-Item -LiteralPath $PSHOME | Get-LlmTask -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -Be 'LlmTaskInputNotTask,LlmTasks.PowerShell.Commands.GetLlmTaskCommand'
        $err[0].CategoryInfo.Category | Should -Be 'InvalidArgument'

        $missing = Join-Path $TestDrive 'no-such-store.db'
        [pscustomobject]@{ Id = 1; StorePath = $missing } | Get-LlmTask -ErrorVariable storeErr -ErrorAction SilentlyContinue
        $storeErr[0].FullyQualifiedErrorId | Should -Be 'LlmTaskStoreNotFound,LlmTasks.PowerShell.Commands.GetLlmTaskCommand'
        Test-Path -LiteralPath $missing | Should -BeFalse
    }

    It 'groups and sorts as any objects do' {
        $groups = Get-LlmTask -Name nightly*, weekly | Group-Object State | Sort-Object Name
        $groups.Name | Should -Be 'Completed', 'Failed'
        $groups[0].Count | Should -Be 2
        (Get-LlmTask -Name nightly*, weekly | Sort-Object Model -Descending)[0].Model | Should -Be 'mock/fail'
    }
}

Describe 'the cmdlets that change tasks take only task-shaped objects' {
    It 'Remove-LlmTask refuses an object that only has an Id (any JSON with an "id" field) and removes nothing' {
        $keep = Start-LlmTask 'keep me' -Model mock/echo -Wait
        $api = '{"id": ' + $keep.Id + ', "text": "a record from some other API"}' | ConvertFrom-Json
        $api | Remove-LlmTask -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -Be 'LlmTaskIdOnlyObject,LlmTasks.PowerShell.Commands.RemoveLlmTaskCommand'
        $err[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
        $err[0].ErrorDetails.RecommendedAction | Should -Match "-Id $($keep.Id)"
        Get-LlmTask $keep.Id | Should -Not -BeNullOrEmpty

        $ids = Join-Path $TestDrive 'remove.csv'
        "Id`n$($keep.Id)" | Set-Content -LiteralPath $ids
        Import-Csv -LiteralPath $ids | Remove-LlmTask -ErrorAction SilentlyContinue
        Get-LlmTask $keep.Id | Should -Not -BeNullOrEmpty
    }

    It 'refuses a Select-Object Id of tasks too: it lost the store the tasks came from' {
        $there = Start-LlmTask 'there' -Model mock/echo -StorePath $script:other -Wait
        while ((Get-LlmTask -Newest 1).Id -lt $there.Id) { Start-LlmTask 'filler' -Model mock/echo -Wait | Out-Null }
        Get-LlmTask $there.Id -StorePath $script:other | Select-Object Id | Remove-LlmTask -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -Be 'LlmTaskIdOnlyObject,LlmTasks.PowerShell.Commands.RemoveLlmTaskCommand'
        Get-LlmTask $there.Id | Should -Not -BeNullOrEmpty # the task with that id here
        Get-LlmTask $there.Id -StorePath $script:other | Should -Not -BeNullOrEmpty
    }

    It 'Stop-LlmTask, Restart-LlmTask and Approve-LlmTask refuse it too' {
        $running = Start-LlmTask 'long' -Model mock/delay:30000
        try {
            [pscustomobject]@{ Id = $running.Id } | Stop-LlmTask -ErrorVariable stopErr -ErrorAction SilentlyContinue
            $stopErr[0].FullyQualifiedErrorId | Should -Be 'LlmTaskIdOnlyObject,LlmTasks.PowerShell.Commands.StopLlmTaskCommand'
            (Get-LlmTask $running.Id).State | Should -BeIn 'Pending', 'Running'
            [pscustomobject]@{ Id = $beta.Id } | Restart-LlmTask -ErrorVariable restartErr -ErrorAction SilentlyContinue
            $restartErr[0].FullyQualifiedErrorId | Should -Be 'LlmTaskIdOnlyObject,LlmTasks.PowerShell.Commands.RestartLlmTaskCommand'
            [pscustomobject]@{ Id = $beta.Id } | Approve-LlmTask -ErrorVariable approveErr -ErrorAction SilentlyContinue
            $approveErr[0].FullyQualifiedErrorId | Should -Be 'LlmTaskIdOnlyObject,LlmTasks.PowerShell.Commands.ApproveLlmTaskCommand'
        }
        finally {
            Stop-LlmTask -Id $running.Id
        }
    }

    It 'they take task objects, deserialized tasks, rows with an InstanceId, positional ids and -Id' {
        $a, $b, $c, $d, $e = 1..5 | ForEach-Object { Start-LlmTask "remove $_" -Model mock/echo -Name removable -Wait }
        $xml = Join-Path $TestDrive 'removable.xml'
        $b | Export-Clixml -LiteralPath $xml
        $csv = Join-Path $TestDrive 'removable.csv'
        $c | Export-Csv -LiteralPath $csv

        $a | Remove-LlmTask
        Import-Clixml -LiteralPath $xml | Remove-LlmTask
        Import-Csv -LiteralPath $csv | Remove-LlmTask
        Remove-LlmTask $d.Id
        Remove-LlmTask -Id $e.Id
        Get-LlmTask -Name removable* | Should -BeNullOrEmpty
    }

    It 'a task piped from another store is removed from that store only' {
        $here = Start-LlmTask 'same id, other store' -Model mock/echo -Wait
        $there = Start-LlmTask 'remove me' -Model mock/echo -StorePath $script:other -Wait
        $there | Remove-LlmTask
        Get-LlmTask -StorePath $script:other -Name * | Where-Object Id -EQ $there.Id | Should -BeNullOrEmpty
        Get-LlmTask $here.Id | Should -Not -BeNullOrEmpty
    }
}

Describe 'Invoke-LlmVerification' {
    It 'verifies strings as text and tasks as tasks (live, deserialized, id rows), and refuses other objects' {
        $spec = @{ Type = 'Contains'; Text = 'a1' }
        $xml = Join-Path $TestDrive 'verify.xml'
        $alpha | Export-Clixml -LiteralPath $xml
        $results = 'text with a1', $alpha, (Import-Clixml -LiteralPath $xml), [pscustomobject]@{ Id = $alpha.Id } |
            Invoke-LlmVerification -Verify $spec
        $results.Passed | Should -Be $true, $true, $true, $true
        $results.TaskId | Should -Be $null, $alpha.Id, $alpha.Id, $alpha.Id

        [pscustomobject]@{ Text = 'a1' } | Invoke-LlmVerification -Verify $spec -ErrorVariable err -ErrorAction SilentlyContinue |
            Should -BeNullOrEmpty
        $err[0].FullyQualifiedErrorId | Should -Be 'LlmTaskInputNotTask,LlmTasks.PowerShell.Commands.InvokeLlmVerificationCommand'
    }
}

Describe 'Restart-LlmTask changes what it runs' {
    It 'runs again with a new model, timeout, temperature and max tokens, stored with the request' {
        $failed = Start-LlmTask 'try again' -Model mock/fail -Temperature 0.1 -Wait
        $done = $failed | Restart-LlmTask -Model mock/echo -TimeoutSec 30 -Temperature 0.7 -MaxTokens 20 -Wait
        $done.State | Should -Be 'Completed'
        $done.Output | Should -Be 'try again'
        $now = Get-LlmTask $failed.Id
        $now.Model | Should -Be 'mock/echo'
        $now.Request.TimeoutSec | Should -Be 30
        $now.Request.Temperature | Should -Be 0.7
        $now.Request.MaxTokens | Should -Be 20
        $attempts = $failed | Get-LlmTaskAttempt
        ($attempts[0].RequestJson | ConvertFrom-Json).model | Should -Be 'mock/fail'
        ($attempts[0].RequestJson | ConvertFrom-Json).temperature | Should -Be 0.1
        ($attempts[1].RequestJson | ConvertFrom-Json).model | Should -Be 'mock/echo'
    }

    It 'checks the options as Start-LlmTask does and changes nothing when they are bad' {
        $failed = Start-LlmTask 'q' -Model mock/fail -Wait
        $cmd = 'LlmTasks.PowerShell.Commands.RestartLlmTaskCommand'
        $failed | Restart-LlmTask -Model nope/x -ErrorVariable e1 -ErrorAction SilentlyContinue
        $e1[0].FullyQualifiedErrorId | Should -Be "LlmTaskUnknownProvider,$cmd"
        $failed | Restart-LlmTask -TimeoutSec -1 -ErrorVariable e2 -ErrorAction SilentlyContinue
        $e2[0].FullyQualifiedErrorId | Should -Be "LlmTaskInvalidTimeout,$cmd"
        $failed | Restart-LlmTask -Temperature 5 -ErrorVariable e3 -ErrorAction SilentlyContinue
        $e3[0].FullyQualifiedErrorId | Should -Be "LlmTaskInvalidTemperature,$cmd"
        $failed | Restart-LlmTask -MaxAttempts 3 -ErrorVariable e4 -ErrorAction SilentlyContinue
        $e4[0].FullyQualifiedErrorId | Should -Be "LlmTaskInvalidVerification,$cmd"
        $now = Get-LlmTask $failed.Id
        $now.State | Should -Be 'Failed'
        $now.Model | Should -Be 'mock/fail'
        $now.Attempts | Should -Be 1
    }

    It 'gives a verified task more attempts with -MaxAttempts' {
        $review = Start-LlmTask 'three words' -Model mock/sequence -MockResponse 'one', 'two words', 'red green blue' `
            -Verify @{ Type = 'Length'; Words = $true; Min = 3; Max = 3 } -MaxAttempts 1 -Wait
        $review.State | Should -Be 'NeedsReview'
        $done = $review | Restart-LlmTask -MaxAttempts 3 -Wait
        $done.State | Should -Be 'Completed'
        (Get-LlmTask $review.Id).Request.Verification.MaxAttempts | Should -Be 3
    }

    It 'uses -ApiKey (a string or a SecureString) for the restarted calls and never stores it' {
        $saved = $env:OPENAI_API_KEY
        try {
            $env:OPENAI_API_KEY = $null
            $key = 'sk-restart-' + [guid]::NewGuid().ToString('N')
            $noKey = Start-LlmTask 'q' -Model openai/gpt-4o-mini -ApiBase 'http://127.0.0.1:1/v1' -Wait
            $noKey.Error | Should -Match 'OPENAI_API_KEY'
            $withKey = $noKey | Restart-LlmTask -ApiKey $key -Wait
            $withKey.State | Should -Be 'Failed'
            $withKey.Error | Should -Not -Match 'OPENAI_API_KEY' # a key was sent: the call got as far as the (closed) port
            $secure = ConvertTo-SecureString $key -AsPlainText -Force
            ($noKey | Restart-LlmTask -ApiKey $secure -Wait).Error | Should -Not -Match 'OPENAI_API_KEY'
            (Get-LlmTask $noKey.Id).Request.ApiKeyGiven | Should -BeTrue
            Get-ChildItem "$script:store*" | ForEach-Object { [System.IO.File]::ReadAllText($_.FullName) } | Should -Not -Match $key
        }
        finally {
            $env:OPENAI_API_KEY = $saved
        }
    }

    It 'sets the session throttle limit with -ThrottleLimit' {
        $failed = Start-LlmTask 'q' -Model mock/fail -Wait
        ($failed | Restart-LlmTask -Model mock/echo -ThrottleLimit 4 -Wait).State | Should -Be 'Completed'
    }
}

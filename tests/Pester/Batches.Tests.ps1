#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0' }
# Start-LlmTask -AsBatch and Get-LlmTaskBatch as people use them, with the offline mock batch provider:
# a pipeline of prompts as one batch, results, cost at the batch price, per-request errors, expiry and
# Restart-LlmTask, Stop-LlmTask cancelling the batch, and the batch objects in Select-Object, ConvertTo-Json and Format-Table.

BeforeAll {
    $manifest = Join-Path $PSScriptRoot '../../out/LlmTasks/LlmTasks.psd1'
    $script:folder = Join-Path ([System.IO.Path]::GetTempPath()) "llmtasks-batches-$([guid]::NewGuid())"
    New-Item -ItemType Directory $script:folder | Out-Null
    $script:saved = @{}
    foreach ($name in 'LLMTASKS_MOCK_BATCH_DIR', 'LLMTASKS_MOCK_BATCH_SECONDS', 'LLMTASKS_MOCK_BATCH_WINDOW_SECONDS', 'LLMTASKS_BATCH_WINDOW_SECONDS', 'LLMTASKS_BATCH_POLL_SECONDS') {
        $script:saved[$name] = [Environment]::GetEnvironmentVariable($name)
    }

    $env:LLMTASKS_MOCK_BATCH_DIR = Join-Path $script:folder 'provider'
    $env:LLMTASKS_MOCK_BATCH_SECONDS = '1'
    $env:LLMTASKS_BATCH_WINDOW_SECONDS = '0.5'
    $env:LLMTASKS_BATCH_POLL_SECONDS = '1'
    Import-Module $manifest -Force
    $script:store = Join-Path $script:folder 'tasks.db'
    $PSDefaultParameterValues['*-Llm*:StorePath'] = $script:store
}

AfterAll {
    $PSDefaultParameterValues.Remove('*-Llm*:StorePath')
    Remove-Module LlmTasks -ErrorAction SilentlyContinue
    foreach ($name in $script:saved.Keys) { [Environment]::SetEnvironmentVariable($name, $script:saved[$name]) }
    Remove-Item $script:folder -Recurse -Force -ErrorAction SilentlyContinue
}

Describe 'Start-LlmTask -AsBatch' {
    It 'sends a pipeline of prompts as one batch and gives every answer back in input order' {
        $tasks = 'one', 'two', 'three' | Start-LlmTask -Model mock/echo -AsBatch -Name piped
        $tasks | Should -HaveCount 3
        $tasks.State | Should -Be 'Pending', 'Pending', 'Pending'

        $done = $tasks | Wait-LlmTask -Timeout 60
        $done.State | Should -Be 'Completed', 'Completed', 'Completed'
        $tasks | Receive-LlmTask | Should -Be 'one', 'two', 'three'
        $done.Attempts | Should -Be 1, 1, 1
        @($done.BatchId | Select-Object -Unique) | Should -HaveCount 1

        $batch = $tasks | Get-LlmTaskBatch
        @($batch) | Should -HaveCount 1
        $batch.Id | Should -Be $done[0].BatchId
        $batch.State | Should -Be 'Completed'
        $batch.ProviderBatchId | Should -BeLike 'mockbatch_*'
        $batch.RequestCount | Should -Be 3
        $batch.CompletedCount | Should -Be 3
        $batch.Model | Should -Be 'mock/echo'

        $attempt = $tasks[0] | Get-LlmTaskAttempt
        $attempt.Outcome | Should -Be 'Succeeded'
        ($attempt.DetailsJson | ConvertFrom-Json).providerBatchId | Should -Be $batch.ProviderBatchId
    }

    It 'costs half of what the same answer costs live' {
        $live = Start-LlmTask 'Count the words in this sentence.' -Model openai/gpt-4o-mini -MockResponse 'There are six words.' -Wait
        $batched = Start-LlmTask 'Count the words in this sentence.' -Model openai/gpt-4o-mini -MockResponse 'There are six words.' -AsBatch -Wait
        $batched.State | Should -Be 'Completed'
        $live.CostUsd | Should -BeGreaterThan 0
        ($batched.InputTokens, $batched.OutputTokens) | Should -Be ($live.InputTokens, $live.OutputTokens)
        $batched.CostUsd | Should -Be ($live.CostUsd / 2)
        ($batched | Get-LlmTaskBatch).CostUsd | Should -Be $batched.CostUsd
    }

    It 'fails only the request the provider refused, with its error kind' {
        $ok = Start-LlmTask 'fine' -Model mock/echo -AsBatch
        $bad = Start-LlmTask 'broken' -Model mock/fail -AsBatch
        $done = $ok, $bad | Wait-LlmTask -Timeout 60
        $done[0].State | Should -Be 'Completed'
        $done[1].State | Should -Be 'Failed'
        $done[1].ErrorKind | Should -Be 'ProviderError'
        $done[1].Error | Should -Match 'mock/fail'
        $err = $null
        $bad | Receive-LlmTask -ErrorVariable err -ErrorAction SilentlyContinue
        $err | Should -Not -BeNullOrEmpty
    }

    It 'leaves what an expired batch did not answer Failed with ErrorKind BatchExpired, and Restart-LlmTask sends it again' {
        $env:LLMTASKS_MOCK_BATCH_SECONDS = '600'
        $env:LLMTASKS_MOCK_BATCH_WINDOW_SECONDS = '0.5'
        try {
            $tasks = 'late one', 'late two' | Start-LlmTask -Model mock/echo -AsBatch
            $done = $tasks | Wait-LlmTask -Timeout 60
        }
        finally {
            $env:LLMTASKS_MOCK_BATCH_SECONDS = '1'
            $env:LLMTASKS_MOCK_BATCH_WINDOW_SECONDS = $null
        }

        $done.State | Should -Be 'Failed', 'Failed'
        $done.ErrorKind | Should -Be 'BatchExpired', 'BatchExpired'
        ($tasks | Get-LlmTaskBatch).State | Should -Be 'Expired'

        $again = $done | Restart-LlmTask -Wait
        $again.State | Should -Be 'Completed', 'Completed'
        $again.Output | Should -Be 'late one', 'late two'
        $again.Attempts | Should -Be 2, 2
        @(Get-LlmTaskBatch -Id $again[0].BatchId).State | Should -Be 'Completed'
    }

    It 'cancels the batch at the provider when every task of it is stopped' {
        $env:LLMTASKS_MOCK_BATCH_SECONDS = '600'
        try {
            $tasks = 'slow one', 'slow two' | Start-LlmTask -Model mock/echo -AsBatch
            $deadline = (Get-Date).AddSeconds(60)
            while (-not ($tasks | Get-LlmTaskBatch).ProviderBatchId -and (Get-Date) -lt $deadline) { Start-Sleep -Milliseconds 200 }
            ($tasks | Get-LlmTaskBatch).ProviderBatchId | Should -Not -BeNullOrEmpty
        }
        finally { $env:LLMTASKS_MOCK_BATCH_SECONDS = '1' }

        $tasks | Stop-LlmTask
        $done = $tasks | Wait-LlmTask -Timeout 60
        $done.State | Should -Be 'Cancelled', 'Cancelled'
        $batch = $tasks | Get-LlmTaskBatch
        $batch.State | Should -Be 'Cancelled'
        $provider = Get-Content (Join-Path $env:LLMTASKS_MOCK_BATCH_DIR "$($batch.ProviderBatchId).json") -Raw | ConvertFrom-Json
        $provider.cancelledMs | Should -BeGreaterThan 0
    }

    It 're-asks an answer that fails -Verify in a new batch, with the answer and the feedback, until it passes' {
        $task = Start-LlmTask 'Reply with JSON.' -Model mock/sequence -MockResponse 'Sure!', '{"ok": true}' `
            -Verify @{ Type = 'Json' } -MaxAttempts 2 -AsBatch -Wait
        $task.State | Should -Be 'Completed'
        $task.Output | Should -Be '{"ok": true}'
        $task.Attempts | Should -Be 2
        $attempts = $task | Get-LlmTaskAttempt
        $attempts.ErrorKind | Should -Be 'VerificationFailed', $null
        ($attempts[0].DetailsJson | ConvertFrom-Json).reasked | Should -BeTrue
        $attempts[1].Messages.role | Should -Be 'user', 'assistant', 'user'
        $attempts[1].Messages[2].content | Should -Match 'Attempt 1 of 2 failed verification'
        $batches = @($attempts | ForEach-Object { ($_.DetailsJson | ConvertFrom-Json).batch } | Select-Object -Unique)
        $batches | Should -HaveCount 2
        (Get-LlmTaskBatch -Id $batches).State | Should -Be 'Completed', 'Completed'
    }

    It 're-asks an answer that fails -Verify live with -LiveReask: one batch, the re-ask a live call with the answer and the feedback' {
        $task = Start-LlmTask 'Reply with JSON.' -Model mock/sequence -MockResponse 'Sure!', '{"ok": true}' `
            -Verify @{ Type = 'Json' } -MaxAttempts 2 -AsBatch -LiveReask -Wait
        $task.State | Should -Be 'Completed'
        $task.Output | Should -Be '{"ok": true}'
        $task.Attempts | Should -Be 2
        $task.Request.Verification.LiveReask | Should -BeTrue # stored with the task
        $attempts = $task | Get-LlmTaskAttempt
        $attempts.ErrorKind | Should -Be 'VerificationFailed', $null
        ($attempts[0].DetailsJson | ConvertFrom-Json).batch | Should -Be $task.BatchId
        $attempts[1].DetailsJson | Should -Not -Match '"batch"'
        $attempts[1].Messages.role | Should -Be 'user', 'assistant', 'user'
        $attempts[1].Messages[1].content | Should -Be 'Sure!'
        $attempts[1].Messages[2].content | Should -Match 'Attempt 1 of 2 failed verification'
        @($task | Get-LlmTaskBatch) | Should -HaveCount 1
        (Get-LlmTaskBatch -Id $task.BatchId).RequestCount | Should -Be 1
    }

    It 'sends an answer that keeps failing -Verify to review' {
        $task = Start-LlmTask 'Reply with JSON.' -Model mock/echo -Verify @{ Type = 'Json' } -MaxAttempts 2 -ReviewAfterAttempts 2 -AsBatch -Wait
        $task.State | Should -Be 'NeedsReview'
        $task.Attempts | Should -Be 2
        @($task.FailedChecks).Count | Should -BeGreaterThan 0
    }

    It 'refuses <Case> with its own error id, storing nothing' -TestCases @(
        @{ Case = 'a provider without a batch API'; Id = 'LlmTaskBatchNotSupported'; Run = { Start-LlmTask 'hi' -Model ollama/llama3 -AsBatch -ErrorAction Stop } }
        @{ Case = '-Stream'; Id = 'LlmTaskBatchWithStream'; Run = { Start-LlmTask 'hi' -Model mock/echo -AsBatch -Stream -ErrorAction Stop } }
        @{ Case = '-LiveReask without -AsBatch'; Id = 'LlmTaskLiveReaskWithoutBatch'; Run = { Start-LlmTask 'hi' -Model mock/echo -Verify @{ Type = 'NotEmpty' } -LiveReask -ErrorAction Stop } }
        @{ Case = '-LiveReask without -Verify'; Id = 'LlmTaskInvalidVerification'; Run = { Start-LlmTask 'hi' -Model mock/echo -AsBatch -LiveReask -ErrorAction Stop } }
    ) {
        $before = @(Get-LlmTask).Count
        $err = $null
        try { & $Run } catch { $err = $_ }
        $err | Should -Not -BeNullOrEmpty
        $err.FullyQualifiedErrorId | Should -BeLike "$Id,*"
        $err.CategoryInfo.Category | Should -Be 'InvalidArgument'
        @(Get-LlmTask).Count | Should -Be $before
    }
}

Describe 'Get-LlmTaskBatch' {
    BeforeAll {
        $script:tasks = 'x', 'y' | Start-LlmTask -Model mock/echo -AsBatch -Name shown | Wait-LlmTask -Timeout 60
    }

    It 'writes each batch of piped tasks once, and batches by id, state and newest' {
        $batch = Get-LlmTask -Name shown | Get-LlmTaskBatch
        @($batch) | Should -HaveCount 1
        (Get-LlmTaskBatch -Id $batch.Id).ProviderBatchId | Should -Be $batch.ProviderBatchId
        (Get-LlmTaskBatch -Newest 1).Id | Should -Be $batch.Id
        @(Get-LlmTaskBatch -State Completed).Id | Should -Contain $batch.Id
        @(Get-LlmTaskBatch -State InProgress) | Should -HaveCount 0
        @(Get-LlmTaskBatch).Count | Should -BeGreaterOrEqual 1
        Get-LlmTaskBatch -Id 999999 | Should -BeNullOrEmpty
    }

    It 'goes through Select-Object, ConvertTo-Json and Format-Table' {
        $row = Get-LlmTask -Name shown | Get-LlmTaskBatch | Select-Object Id, ProviderBatchId, State, RequestCount, CompletedCount, ExpiresAt
        $json = $row | ConvertTo-Json -EnumsAsStrings | ConvertFrom-Json
        $json.State | Should -Be 'Completed'
        ($row | ConvertTo-Json | ConvertFrom-Json).State | Should -Be ([int]$row.State) # as every enum: a number without -EnumsAsStrings
        $json.RequestCount | Should -Be 2
        $json.ProviderBatchId | Should -BeLike 'mockbatch_*'
        $table = Get-LlmTask -Name shown | Get-LlmTaskBatch | Format-Table | Out-String -Width 200
        $table | Should -Match 'ProviderBatchId'
        $table | Should -Match '2 of 2'
        $table | Should -Match 'Completed'
    }

    It 'is carried by Repair-LlmTaskStore into the new store, with the tasks'' batch ids' {
        $destination = Join-Path $script:folder 'repaired.db'
        $result = Repair-LlmTaskStore -Destination $destination
        $before = @(Get-LlmTaskBatch)
        $result.BatchesRecovered | Should -Be $before.Count
        $result.BatchesLost | Should -Be 0
        $after = @(Get-LlmTaskBatch -StorePath $destination)
        $after.ProviderBatchId | Should -Be $before.ProviderBatchId
        $after.State | Should -Be $before.State
        (Get-LlmTask -Name shown -StorePath $destination).BatchId | Should -Be $script:tasks.BatchId
        (Get-LlmTask -Name shown -StorePath $destination | Get-LlmTaskBatch).Id | Should -Be ($script:tasks | Get-LlmTaskBatch).Id
    }

    It 'refuses input that is not a task' {
        $err = $null
        [pscustomobject]@{ Something = 1 } | Get-LlmTaskBatch -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'LlmTaskInputNotTask,*'
    }

    It 'writes nothing for tasks that were never in a batch' {
        Start-LlmTask 'live' -Model mock/echo -Wait | Get-LlmTaskBatch | Should -BeNullOrEmpty
    }
}

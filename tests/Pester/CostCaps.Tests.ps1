#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0' }
# A task's cost cap (-MaxCostUsd) through the cmdlets, against a loopback OpenAI-style server whose answers report a
# large usage (so each call of openai/gpt-4o-mini costs $0.15 at the shipped price map's $0.15 per million input tokens).

BeforeAll {
    $manifest = Join-Path $PSScriptRoot '../../out/LlmTasks/LlmTasks.psd1'
    Import-Module $manifest -Force
    $script:folder = Join-Path ([System.IO.Path]::GetTempPath()) "llmtasks-pester-costcaps-$([guid]::NewGuid())"
    New-Item -ItemType Directory -Path $script:folder | Out-Null
    $PSDefaultParameterValues['*-Llm*:StorePath'] = Join-Path $script:folder 'tasks.db'
    $script:key = ConvertTo-SecureString 'sk-test-0123456789abcdef' -AsPlainText -Force
    $script:savedPrices = $env:LLMTASKS_MODEL_PRICES
    Remove-Item Env:LLMTASKS_MODEL_PRICES -ErrorAction SilentlyContinue # the shipped map prices the calls

    . (Join-Path $PSScriptRoot 'LoopbackServers.ps1')
}

AfterAll {
    $env:LLMTASKS_MODEL_PRICES = $script:savedPrices
    Remove-Module LlmTasks -ErrorAction SilentlyContinue
    Remove-Item $script:folder -Recurse -Force -ErrorAction SilentlyContinue
}

Describe 'Start-LlmTask -MaxCostUsd' {
    It 'stops re-asking once the next call would pass the cap: the task ends Failed with ErrorKind CostLimit' {
        $server = New-PricedServer -Content 'not a number'
        try {
            $task = Start-LlmTask 'Give a number' -Model openai/gpt-4o-mini -ApiBase $server.BaseUrl -ApiKey $script:key `
                -Verify @{ Type = 'Regex'; Pattern = '^\d+$' } -MaxAttempts 10 -MaxCostUsd 0.40 -Wait
            # $0.15, $0.30, then $0.45 (the third call started under the cap); a fourth would start past it.
            $server.Calls | Should -Be 3
            $task.State | Should -Be 'Failed'
            $task.ErrorKind | Should -Be 'CostLimit'
            $task.Error | Should -BeLike '*has cost $0.45 of its -MaxCostUsd 0.4*Restart-LlmTask -MaxCostUsd*'
            $task.CostUsd | Should -Be 0.45
            @($task | Get-LlmTaskAttempt) | Should -HaveCount 3 -Because 'the call that was not made has no attempt row'
            ($task | Get-LlmTask).ErrorKind | Should -Be 'CostLimit'

            # A higher cap: what the task has cost counts, so one more call fits under $0.60.
            $server.Content = '42'
            $again = $task | Restart-LlmTask -MaxCostUsd 0.60 -ApiKey $script:key -Wait
            $again.State | Should -Be 'Completed'
            $again.Output | Should -Be '42'
            $server.Calls | Should -Be 4
            $again.CostUsd | Should -Be 0.60
        }
        finally { $server.Dispose() }
    }

    It 'leaves a task under its cap alone, and binds MaxCostUsd from piped objects' {
        $server = New-PricedServer -Content 'not a number'
        try {
            $server.Content = '7'
            $tasks = @(
                [pscustomobject]@{ Prompt = 'one'; MaxCostUsd = '1' }
                [pscustomobject]@{ Prompt = 'two'; MaxCostUsd = '0.1' }
            ) | Start-LlmTask -Model openai/gpt-4o-mini -ApiBase $server.BaseUrl -ApiKey $script:key -Wait
            $tasks | Should -HaveCount 2
            $tasks[0].State | Should -Be 'Completed'
            $tasks[0].CostUsd | Should -Be 0.15
            # The second's prompt is tiny, so its first call is sure to cost far less than its cap and is made; the answer's
            # cost ($0.15) takes it past the cap, which is the one answer a task may end past it.
            $tasks[1].State | Should -Be 'Completed'
            $server.Calls | Should -Be 2
            ($tasks | Get-LlmTask).Request.MaxCostUsd | Should -Be @(1, 0.1) -Because 'the cap is stored with the request'
        }
        finally { $server.Dispose() }
    }

    It 'refuses a cap that is not more than 0, or with -AsBatch, with LlmTaskInvalidMaxCost, storing nothing' {
        $before = @(Get-LlmTask).Count
        foreach ($bad in 0, -1, 2000000) {
            $err = $null
            Start-LlmTask 'x' -Model mock/echo -MaxCostUsd $bad -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
            $err | Should -HaveCount 1
            $err[0].FullyQualifiedErrorId | Should -BeLike 'LlmTaskInvalidMaxCost,*'
            $err[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
            $err[0].Exception.Message | Should -BeLike '*-MaxCostUsd must be more than 0*'
        }

        # A batch's requests go together: no call could be held back at the cap.
        $err = $null
        Start-LlmTask 'x' -Model mock/echo -AsBatch -MaxCostUsd 1 -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $err[0].FullyQualifiedErrorId | Should -BeLike 'LlmTaskInvalidMaxCost,*'
        $err[0].Exception.Message | Should -BeLike '*does not apply to -AsBatch*'

        @(Get-LlmTask).Count | Should -Be $before
    }
}

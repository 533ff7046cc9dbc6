#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0' }
# Budgets per store or task name per period (Set/Get/Remove-LlmBudget) through the cmdlets in real pwsh, and a task held
# by one: a loopback OpenAI-style server whose answers report a million prompt tokens (each call of openai/gpt-4o-mini
# costs $0.15 at the shipped price map).

BeforeAll {
    $manifest = Join-Path $PSScriptRoot '../../out/LlmTasks/LlmTasks.psd1'
    Import-Module $manifest -Force
    $script:folder = Join-Path ([System.IO.Path]::GetTempPath()) "llmtasks-pester-budgets-$([guid]::NewGuid())"
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

Describe 'Set-LlmBudget, Get-LlmBudget, Remove-LlmBudget' {
    AfterEach { Get-LlmBudget | Remove-LlmBudget }

    It 'sets, lists, changes and removes budgets kept in the store, and pipes into Format-Table and ConvertTo-Json' {
        $set = Set-LlmBudget -Scope store -Period Day -MaxCostUsd 5 -PassThru
        $set.Scope | Should -Be 'store'
        $set.Period | Should -Be 'Day'
        $set.MaxCostUsd | Should -Be 5
        $set.SpentUsd | Should -Be 0
        $set.PeriodEnd | Should -Be ([DateTimeOffset]::new([DateTime]::UtcNow.Date.AddDays(1), [TimeSpan]::Zero))
        Set-LlmBudget -Scope 'reviews*' -Period Month -MaxCostUsd 40 | Should -BeNullOrEmpty -Because 'without -PassThru it writes nothing'
        Set-LlmBudget -Scope 'reviews*' -Period Month -MaxCostUsd 50 # the same budget, a new cap

        $all = @(Get-LlmBudget)
        $all | Should -HaveCount 2
        ($all | Where-Object Scope -eq 'reviews*').MaxCostUsd | Should -Be 50
        @(Get-LlmBudget -Period Day).Scope | Should -Be @('store')
        @(Get-LlmBudget 'rev*').Scope | Should -Be @('reviews*')

        $table = Get-LlmBudget | Format-Table | Out-String
        $table | Should -Match 'Scope\s+Period\s+MaxCostUsd\s+SpentUsd'
        $table | Should -Match "reviews\*\s+Month\s+50\.00"
        $json = Get-LlmBudget | ConvertTo-Json | ConvertFrom-Json
        @($json).Count | Should -Be 2
        ($json | Where-Object Scope -eq 'store').MaxCostUsd | Should -Be 5

        Set-LlmBudget -Scope other -Period Hour -MaxCostUsd 1 -WhatIf
        @(Get-LlmBudget -Scope other) | Should -HaveCount 0 -Because '-WhatIf stores nothing'

        Remove-LlmBudget -Scope 'reviews*'
        @(Get-LlmBudget).Scope | Should -Be @('store')
    }

    It 'refuses bad input with its own error ids and stores nothing' {
        $err = $null
        Set-LlmBudget -Scope store -Period Day -MaxCostUsd -1 -ErrorVariable err -ErrorAction SilentlyContinue
        $err | Should -HaveCount 1
        $err[0].FullyQualifiedErrorId | Should -BeLike 'LlmTaskInvalidBudget,*'
        $err[0].CategoryInfo.Category | Should -Be 'InvalidArgument'

        $err = $null
        Set-LlmBudget -Scope 'a[b' -Period Day -MaxCostUsd 1 -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'LlmTaskInvalidBudget,*'
        $err[0].Exception.Message | Should -BeLike "Invalid budget: -Scope 'a``[b' is not a valid wildcard pattern*"
        $err[0].Exception.Message | Should -Match "for example -Scope '"
        $err[0].Exception.Message | Should -Not -Match '-Name'
        @(Get-LlmBudget) | Should -HaveCount 0

        { Set-LlmBudget -Scope store -Period Year -MaxCostUsd 1 -ErrorAction Stop } | Should -Throw -ErrorId 'ParameterArgumentValidationError*'

        $err = $null
        Remove-LlmBudget -Scope nothing -Period Day -ErrorVariable err -ErrorAction SilentlyContinue
        $err | Should -HaveCount 1
        $err[0].FullyQualifiedErrorId | Should -BeLike 'LlmTaskBudgetNotFound,*'
        $err[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
        $err[0].Exception.Message | Should -BeLike '*Get-LlmBudget lists*'
    }

    It 'holds a task whose name budget is spent Pending with the reason, and runs it when the budget is removed' {
        $server = New-PricedServer
        try {
            Set-LlmBudget -Scope 'priced-*' -Period Day -MaxCostUsd 0.15
            $first = Start-LlmTask 'one' -Name priced-1 -Model openai/gpt-4o-mini -ApiBase $server.BaseUrl -ApiKey $script:key -Wait
            $first.State | Should -Be 'Completed'
            $first.CostUsd | Should -Be 0.15
            $budget = Get-LlmBudget 'priced-*'
            $budget.SpentUsd | Should -Be 0.15
            $budget.IsExhausted | Should -BeTrue

            $outside = Start-LlmTask 'free' -Name other -Model mock/echo -Wait
            $outside.State | Should -Be 'Completed' -Because 'a task outside the scope is not held'

            $held = Start-LlmTask 'two' -Name priced-2 -Model openai/gpt-4o-mini -ApiBase $server.BaseUrl -ApiKey $script:key
            $deadline = [DateTime]::UtcNow.AddSeconds(60)
            do { Start-Sleep -Milliseconds 100; $now = $held | Get-LlmTask } until ($now.ErrorKind -eq 'BudgetHold' -or [DateTime]::UtcNow -gt $deadline)
            $now.State | Should -Be 'Pending'
            $now.ErrorKind | Should -Be 'BudgetHold'
            $now.Error | Should -Match "Waiting for budget 'Day' of 'priced-\*' \(0\.15 USD spent of 0\.15; the period turns at"
            $server.Calls | Should -Be 1 -Because 'the held task made no call'

            Remove-LlmBudget -Scope 'priced-*'
            $done = $held | Wait-LlmTask -TimeoutSec 60
            $done.State | Should -Be 'Completed'
            $done.Output | Should -Be '42'
            $server.Calls | Should -Be 2
        }
        finally { $server.Dispose() }
    }

    It 'is carried into the new store by Repair-LlmTaskStore, with its cap' {
        Set-LlmBudget -Scope 'reviews*' -Period Week -MaxCostUsd 12.5
        Start-LlmTask 'kept' -Model mock/echo -Wait | Out-Null
        $destination = Join-Path $script:folder "repaired-$([guid]::NewGuid()).db"
        $result = Repair-LlmTaskStore -Destination $destination
        $result.BudgetsRecovered | Should -Be 1
        $result.BudgetsLost | Should -Be 0
        ($result | Format-List | Out-String) | Should -Match 'BudgetsRecovered\s*:\s*1'
        $copied = @(Get-LlmBudget -StorePath $destination)
        $copied | Should -HaveCount 1
        $copied[0] | Select-Object Scope, Period, MaxCostUsd | ConvertTo-Json -Compress -EnumsAsStrings |
            Should -Be '{"Scope":"reviews*","Period":"Week","MaxCostUsd":12.5}'
    }
}

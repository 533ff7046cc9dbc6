#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0' }
# Get-LlmModel and the price map: the shipped LiteLLM snapshot, a newer file through $env:LLMTASKS_MODEL_PRICES,
# -Model completion from it, and prompts refused before anything is stored when they clearly exceed the context window.

BeforeAll {
    $manifest = Join-Path $PSScriptRoot '../../out/LlmTasks/LlmTasks.psd1'
    Import-Module $manifest -Force
    $script:folder = Join-Path ([System.IO.Path]::GetTempPath()) "llmtasks-pester-models-$([guid]::NewGuid())"
    New-Item -ItemType Directory -Path $script:folder | Out-Null
    $script:store = Join-Path $script:folder 'tasks.db'
    $PSDefaultParameterValues['*-Llm*:StorePath'] = $script:store
    $script:savedPrices = $env:LLMTASKS_MODEL_PRICES
    Remove-Item Env:LLMTASKS_MODEL_PRICES -ErrorAction SilentlyContinue
}

AfterAll {
    $env:LLMTASKS_MODEL_PRICES = $script:savedPrices
    Remove-Module LlmTasks -ErrorAction SilentlyContinue
    Remove-Item $script:folder -Recurse -Force -ErrorAction SilentlyContinue
}

Describe 'Get-LlmModel' {
    It 'lists the models with provider, context window, prices and capabilities, for the Utility cmdlets' {
        $mini = Get-LlmModel openai/gpt-4o-mini
        $mini.Provider | Should -Be 'openai'
        $mini.ContextWindow | Should -Be 128000
        $mini.InputUsdPerMillion | Should -Be 0.15
        $mini.OutputUsdPerMillion | Should -Be 0.6
        $mini.CachedInputUsdPerMillion | Should -Be 0.075
        $mini.BatchOutputUsdPerMillion | Should -Be 0.3
        $mini.Capabilities | Should -Contain 'Vision'
        $mini.Source | Should -BeLike 'LiteLLM price map, commit 00035b6*2026-12-01'

        $cheap = Get-LlmModel -Provider openai -Capability Vision | Sort-Object InputUsdPerMillion | Select-Object -First 3
        $cheap | Should -HaveCount 3
        $cheap[0].InputUsdPerMillion | Should -BeLessOrEqual $cheap[2].InputUsdPerMillion
        $cheap | ForEach-Object { $_.Capabilities | Should -Contain 'Vision' }

        $big = Get-LlmModel -Provider anthropic | Where-Object ContextWindow -ge 1000000
        $big | Should -Not -BeNullOrEmpty
        ($big | Measure-Object).Count | Should -BeLessThan (Get-LlmModel -Provider anthropic | Measure-Object).Count
        (Get-LlmModel | Group-Object Provider).Name | Should -Be @('anthropic', 'azure', 'ollama', 'openai', 'openrouter')
    }

    It 'matches names with or without the prefix, with wildcards, and formats as a table' {
        (Get-LlmModel gpt-4o-mini -Provider openai).Model | Should -Be 'openai/gpt-4o-mini'
        $opus = @(Get-LlmModel 'anthropic/claude-opus-4-?')
        $opus.Model | Should -Contain 'anthropic/claude-opus-4-5'
        $opus | ForEach-Object { $_.Model | Should -BeLike 'anthropic/claude-opus-4-?' }
        $table = Get-LlmModel openai/gpt-4o-mini | Format-Table | Out-String -Width 120
        $table | Should -Match 'openai/gpt-4o-mini\s+128,000\s+0\.15\s+0\.6\s+0\.075\s+FunctionCalling, Vision'
    }

    It 'binds piped tasks by their Model property' {
        $task = Start-LlmTask 'x' -Model openai/gpt-4o-mini -MockResponse 'y' -Wait
        ($task | Get-LlmModel).Model | Should -Be 'openai/gpt-4o-mini'
    }

    It 'writes LlmTaskModelNotFound for a plain name it does not know, and nothing for a pattern' {
        $err = $null
        $found = Get-LlmModel no-such-model, gpt-4o-mini -Provider openai -ErrorVariable err -ErrorAction SilentlyContinue
        $found.Model | Should -Be 'openai/gpt-4o-mini'
        $err | Should -HaveCount 1
        $err[0].FullyQualifiedErrorId | Should -BeLike 'LlmTaskModelNotFound*'
        $err[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
        $err[0].TargetObject | Should -Be 'no-such-model'
        Get-LlmModel 'no-such-*' -ErrorVariable err2 -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $err2 | Should -BeNullOrEmpty
        { Get-LlmModel -Capability Telepathy } | Should -Throw -ErrorId 'ParameterArgumentValidationError,LlmTasks.PowerShell.Commands.GetLlmModelCommand'
    }
}

Describe '$env:LLMTASKS_MODEL_PRICES' {
    AfterEach { Remove-Item Env:LLMTASKS_MODEL_PRICES -ErrorAction SilentlyContinue }

    It 'points at a newer price map: listing, costs and completion use it' {
        $file = Join-Path $script:folder 'newer.json'
        [ordered]@{
            'gpt-4o-mini' = @{ litellm_provider = 'openai'; mode = 'chat'; input_cost_per_token = 0.000001; output_cost_per_token = 0.000002; max_input_tokens = 50 }
            'gpt-9'       = @{ litellm_provider = 'openai'; mode = 'chat'; input_cost_per_token = 0.00001; output_cost_per_token = 0.00003; max_input_tokens = 1000000 }
        } | ConvertTo-Json | Set-Content -LiteralPath $file
        $env:LLMTASKS_MODEL_PRICES = $file

        $models = Get-LlmModel
        $models.Model | Should -Be @('openai/gpt-4o-mini', 'openai/gpt-9')
        $models[0].Source | Should -Be $file
        (TabExpansion2 -inputScript 'Start-LlmTask -Model openai/gpt-9' -cursorColumn 31).CompletionMatches.CompletionText | Should -Contain 'openai/gpt-9'

        # The new window decides: 50 tokens.
        $err = $null
        Start-LlmTask ('word ' * 100) -Model openai/gpt-4o-mini -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $err[0].FullyQualifiedErrorId | Should -BeLike 'LlmTaskContextWindowExceeded*'
        $err[0].Exception.Message | Should -BeLike "*at most 50 input tokens ($file)*"
    }

    It 'refuses a file that is not a price map, naming the variable' {
        $file = Join-Path $script:folder 'broken.json'
        Set-Content -LiteralPath $file -Value '{ nope'
        $env:LLMTASKS_MODEL_PRICES = $file
        $thrown = { Get-LlmModel } | Should -Throw -ErrorId 'LlmTaskInvalidModelPrices,LlmTasks.PowerShell.Commands.GetLlmModelCommand' -PassThru
        $thrown.Exception.Message | Should -BeLike '*$env:LLMTASKS_MODEL_PRICES*broken.json*'
        $thrown.CategoryInfo.Category | Should -Be 'InvalidArgument'
        # A start checks the context window with it, so it is refused too, before anything is stored.
        { Start-LlmTask 'hi' -Model openai/gpt-4o-mini -ErrorAction Stop } | Should -Throw -ErrorId 'LlmTaskInvalidModelPrices,*'
    }
}

Describe 'Context window' {
    It 'refuses a prompt clearly over the model''s window before it is stored or sent, with its own error id' {
        $before = @(Get-LlmTask).Count
        $err = $null
        $tasks = 'short', ('word ' * 130000), 'also short' | Start-LlmTask -Model openai/gpt-4o-mini -ApiBase 'http://127.0.0.1:9/v1' -ErrorVariable err -ErrorAction SilentlyContinue
        $err | Should -HaveCount 1
        $err[0].FullyQualifiedErrorId | Should -BeLike 'LlmTaskContextWindowExceeded*'
        $err[0].CategoryInfo.Category | Should -Be 'LimitsExceeded'
        $err[0].Exception.Message | Should -BeLike '*openai/gpt-4o-mini takes at most 128,000 input tokens*Get-LlmModel | Where-Object ContextWindow -ge*'
        $tasks | Should -HaveCount 2 # the others are stored
        $tasks | Stop-LlmTask
        @(Get-LlmTask).Count | Should -Be ($before + 2)
    }

    It 'lets through what the map does not know, and -MockResponse' {
        Start-LlmTask ('word ' * 130000) -Model openai/gpt-4o-mini -MockResponse 'fine' -Wait | Select-Object -ExpandProperty State | Should -Be Completed
        Start-LlmTask ('word ' * 300) -Model mock/echo -Wait | Select-Object -ExpandProperty State | Should -Be Completed
    }
}

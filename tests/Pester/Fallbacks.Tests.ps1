#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0' }
# -Fallback and -FallbackOn through Start-LlmTask, offline: mock/fail fails every call, mock/echo answers.

BeforeAll {
    $manifest = Join-Path $PSScriptRoot '../../out/LlmTasks/LlmTasks.psd1'
    Import-Module $manifest -Force
    $script:folder = Join-Path ([System.IO.Path]::GetTempPath()) "llmtasks-pester-fallbacks-$([guid]::NewGuid())"
    New-Item -ItemType Directory -Path $script:folder | Out-Null
    $PSDefaultParameterValues['*-Llm*:StorePath'] = Join-Path $script:folder 'tasks.db'
}

AfterAll {
    Remove-Module LlmTasks -ErrorAction SilentlyContinue
    Remove-Item $script:folder -Recurse -Force -ErrorAction SilentlyContinue
}

Describe '-Fallback' {
    It 'moves on to the next model for a kind -FallbackOn names; each try is an attempt row naming its model' {
        $verbose = $null
        $task = Start-LlmTask 'Hello there' -Model mock/fail -Fallback mock/fail, mock/echo -FallbackOn ProviderError -Wait -Verbose 4>&1 |
            Tee-Object -Variable verbose | Where-Object { $_ -isnot [System.Management.Automation.VerboseRecord] }
        $task.State | Should -Be Completed
        $task.Output | Should -Be 'Hello there'
        $task.Model | Should -Be 'mock/fail'
        $attempts = $task | Get-LlmTaskAttempt
        $attempts | Select-Object -ExpandProperty Model | Should -Be @('mock/fail', 'mock/fail', 'mock/echo')
        $attempts | Select-Object -ExpandProperty Outcome | Should -Be @('Failed', 'Failed', 'Succeeded')
        ($attempts[2].DetailsJson | ConvertFrom-Json).fallback | Should -Be 2
        ($verbose | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }).Message | Should -Contain "Task $($task.Id): mock/fail failed (ProviderError); falling back to mock/echo (-Fallback)."
    }

    It 'fails at once for a kind not named (the default is RateLimited, Overloaded, ServerError, ContextTooLong)' {
        $task = Start-LlmTask 'x' -Model mock/fail -Fallback mock/echo -Wait
        $task.State | Should -Be Failed
        $task.ErrorKind | Should -Be ProviderError
        @($task | Get-LlmTaskAttempt).Model | Should -Be 'mock/fail'
    }

    It 'binds Fallback and FallbackOn from piped objects and Import-Csv, and stores them whole' {
        $csv = Join-Path $script:folder 'prompts.csv'
        [pscustomobject]@{ Prompt = 'from csv'; Model = 'mock/fail'; Fallback = 'mock/echo'; FallbackOn = 'ProviderError' } | Export-Csv $csv -NoTypeInformation
        $task = Import-Csv $csv | Start-LlmTask -Wait
        $task.State | Should -Be Completed
        $task.Request.Fallbacks | Should -Be @('mock/echo')
        $task.Request.FallbackOn | Should -Be @('ProviderError')
        $env:LLMTASKS_DEFAULT_PROVIDER = $null
        (@{ Prompt = 'ht'; Model = 'mock/fail'; Fallback = @('mock/echo'); FallbackOn = @('ProviderError') } | Start-LlmTask -Wait).Output | Should -Be 'ht'
    }

    It 'refuses an unknown kind or provider before anything is stored' {
        $before = @(Get-LlmTask).Count
        { Start-LlmTask 'x' -Model mock/echo -Fallback mock/echo -FallbackOn Sometimes } |
            Should -Throw -ErrorId 'ParameterArgumentValidationError,LlmTasks.PowerShell.Commands.StartLlmTaskCommand'
        $err = $null
        Start-LlmTask 'x' -Model mock/echo -Fallback nowhere/model -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'LlmTaskUnknownProvider*'
        @(Get-LlmTask).Count | Should -Be $before
    }
}

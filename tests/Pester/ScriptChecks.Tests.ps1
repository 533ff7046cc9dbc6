#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0' }
# Script-block checks that cannot lie: a block that would read something that does not exist where it runs
# (the module's own runspace) is refused when the spec is built, before anything is stored or called.

BeforeAll {
    $manifest = Join-Path $PSScriptRoot '../../out/LlmTasks/LlmTasks.psd1'
    Import-Module $manifest -Force
    $script:store = Join-Path ([System.IO.Path]::GetTempPath()) "llmtasks-pester-scripts-$([guid]::NewGuid()).db"
    $PSDefaultParameterValues['*-Llm*:StorePath'] = $script:store

    function Get-Refusal([scriptblock] $Command) {
        try { & $Command; $null } catch { $_ }
    }
}

AfterAll {
    Remove-Module LlmTasks -ErrorAction SilentlyContinue
    Remove-Item "$script:store*" -ErrorAction SilentlyContinue
}

Describe 'A block that reads a variable of the caller' {
    It 'is refused by Invoke-LlmVerification, naming the variable, instead of passing on $null' {
        $needle = 'X'
        $written = $null
        $refusal = Get-Refusal { $script:written = 'no x here' | Invoke-LlmVerification -Verify { param($Output) $Output -match $needle } -Quiet }
        $written | Should -BeNullOrEmpty
        $refusal.FullyQualifiedErrorId | Should -Be 'LlmTaskScriptCheckVariable,LlmTasks.PowerShell.Commands.InvokeLlmVerificationCommand'
        $refusal.CategoryInfo.Category | Should -Be 'InvalidArgument'
        $refusal.Exception.Message | Should -BeLike 'Verify item 1 (ScriptBlock) reads $needle*'
        $refusal.Exception.Message | Should -BeLike "*Type = 'Regex'; Pattern = `$needle*"
    }

    It 'is refused by Start-LlmTask before any task is stored, naming the item' {
        $before = @(Get-LlmTask).Count
        $limit = 3
        $refusal = Get-Refusal { Start-LlmTask 'q' -Model mock/echo -Verify @{ Type = 'NotEmpty' }, { param($Output) $Output.Length -lt $limit } }
        $refusal.FullyQualifiedErrorId | Should -Be 'LlmTaskScriptCheckVariable,LlmTasks.PowerShell.Commands.StartLlmTaskCommand'
        $refusal.Exception.Message | Should -BeLike 'Verify item 2 (ScriptBlock) reads $limit*'
        @(Get-LlmTask).Count | Should -Be $before
    }

    It 'refuses $using: with its own error id, at start rather than later' {
        $needle = 'X'
        $refusal = Get-Refusal { Start-LlmTask 'q' -Model mock/echo -Verify { param($Output) $Output -match $using:needle } }
        $refusal.FullyQualifiedErrorId | Should -Be 'LlmTaskScriptCheckUsing,LlmTasks.PowerShell.Commands.StartLlmTaskCommand'
        $refusal.Exception.Message | Should -BeLike '*uses $using:needle*'
        (Get-Refusal { 'x' | Invoke-LlmVerification -Verify { param($Output) $using:needle } }).FullyQualifiedErrorId |
            Should -BeLike 'LlmTaskScriptCheckUsing,*'
    }

    It 'says to declare param($Output) when the block reads $Output without it' {
        $refusal = Get-Refusal { 'ok' | Invoke-LlmVerification -Verify { $Output -eq 'ok' } }
        $refusal.FullyQualifiedErrorId | Should -BeLike 'LlmTaskScriptCheckVariable,*'
        $refusal.Exception.Message | Should -BeLike '*param($Output, $Task)*'
    }

    It 'refuses $global: and $script: variables of the session, and other drives' {
        $global:LlmTasksPesterGlobal = 'x'
        try {
            (Get-Refusal { 'x' | Invoke-LlmVerification -Verify { param($Output) $Output -eq $global:LlmTasksPesterGlobal } }).Exception.Message |
                Should -BeLike '*reads $LlmTasksPesterGlobal*'
        }
        finally { Remove-Variable LlmTasksPesterGlobal -Scope Global }
        (Get-Refusal { 'x' | Invoke-LlmVerification -Verify { param($Output) ${function:Get-Thing} } }).FullyQualifiedErrorId |
            Should -BeLike 'LlmTaskScriptCheckVariable,*'
    }
}

Describe 'A block that calls a command of the caller' {
    It 'refuses a function defined only in this session' {
        function Test-LlmTasksPesterAnswer { param($Text) $Text -eq 'ok' }
        $refusal = Get-Refusal { 'ok' | Invoke-LlmVerification -Verify { param($Output) Test-LlmTasksPesterAnswer $Output } }
        $refusal.FullyQualifiedErrorId | Should -Be 'LlmTaskScriptCheckCommand,LlmTasks.PowerShell.Commands.InvokeLlmVerificationCommand'
        $refusal.Exception.Message | Should -BeLike '*calls Test-LlmTasksPesterAnswer*function Test-LlmTasksPesterAnswer*'
    }

    It 'refuses an alias defined only in this session' {
        Set-Alias -Name llmpesteralias -Value Get-Date
        (Get-Refusal { 'ok' | Invoke-LlmVerification -Verify { param($Output) llmpesteralias; $true } }).Exception.Message |
            Should -BeLike '*calls llmpesteralias*'
    }

    It 'refuses a script run by a relative path (it would resolve against the process folder, not $PWD)' {
        (Get-Refusal { 'ok' | Invoke-LlmVerification -Verify { param($Output) ./check.ps1 $Output } }).Exception.Message |
            Should -BeLike '*runs ./check.ps1 by a relative path*'
    }
}

Describe 'A self-contained block' {
    It 'runs with its parameters, automatic variables, its own variables, functions and $env:' {
        $env:LLMTASKS_PESTER_NEEDLE = 'answer'
        try {
            $check = {
                param($Output, $Task)
                function Test-Length([string] $Text) { $Text.Length -gt 3 }
                $words = @()
                foreach ($word in $Output -split ' ') { $words += $word }
                Get-Date -OutVariable now | Out-Null
                $found = $Output -match '(\d+)'
                $null -eq $Task -and $found -and $Matches[1] -eq '42' -and (Test-Length $Output) -and
                    $words.Count -eq 3 -and $now -and $Output.Contains($env:LLMTASKS_PESTER_NEEDLE) -and
                    ($Output | ForEach-Object { $_ }) -eq $Output -and $PSVersionTable.PSVersion.Major -ge 7 -and $true
            }
            'the answer 42' | Invoke-LlmVerification -Verify $check -Quiet | Should -BeTrue
            'the reply 42' | Invoke-LlmVerification -Verify $check -Quiet | Should -BeFalse
        }
        finally { Remove-Item Env:LLMTASKS_PESTER_NEEDLE }
    }

    It 'may pass its own variables on with $using: (ForEach-Object -Parallel inside the block)' {
        'abc' | Invoke-LlmVerification -Verify {
            param($Output)
            $expected = 'abc'
            (1..2 | ForEach-Object -Parallel { $using:expected } | Select-Object -First 1) -eq $Output
        } -Quiet | Should -BeTrue
    }

    It 'checks a task it verifies through $Task, with a value written into its text' {
        $needle = 'hello'
        $check = [scriptblock]::Create("param(`$Output, `$Task) `$Output -eq '$needle' -and `$Task.Model -eq 'mock/echo'")
        $task = Start-LlmTask 'hello' -Model mock/echo -Verify $check -Wait
        $task.State | Should -Be 'Completed'
        ($task | Get-LlmTask).Checks[0].Passed | Should -BeTrue
    }
}

#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0' }
# Every parameter of every cmdlet given what an empty variable holds ($null, @(), ''), as scripts pass
# them by mistake: a binding error or the module's own error, never a NullReferenceException or another
# raw .NET exception. Selections refuse $null rather than reading it as "no selection, every task".

BeforeDiscovery {
    $manifest = Join-Path $PSScriptRoot '../../out/LlmTasks/LlmTasks.psd1'
    Import-Module $manifest -Force
    $common = [System.Management.Automation.Cmdlet]::CommonParameters + [System.Management.Automation.Cmdlet]::OptionalCommonParameters
    $cases = foreach ($command in Get-Command -Module LlmTasks -CommandType Cmdlet) {
        foreach ($parameter in $command.Parameters.Values | Where-Object { $_.Name -notin $common -and $_.ParameterType -ne [switch] }) {
            foreach ($empty in 'null', 'empty array', 'empty string') {
                @{ Command = $command.Name; Parameter = $parameter.Name; Empty = $empty }
            }
        }
    }
}

BeforeAll {
    $manifest = Join-Path $PSScriptRoot '../../out/LlmTasks/LlmTasks.psd1'
    Import-Module $manifest -Force
    $script:folder = Join-Path ([System.IO.Path]::GetTempPath()) "llmtasks-empty-$([guid]::NewGuid())"
    New-Item -ItemType Directory -Path $script:folder | Out-Null
    $script:store = Join-Path $script:folder 'tasks.db'
    $PSDefaultParameterValues['*-Llm*:StorePath'] = $script:store
    $null = Start-LlmTask 'kept' -Model mock/echo -Name kept -Wait
}

AfterAll {
    $PSDefaultParameterValues.Remove('*-Llm*:StorePath')
    Remove-Module LlmTasks -ErrorAction SilentlyContinue
    Remove-Item $script:folder -Recurse -Force -ErrorAction SilentlyContinue
}

Describe 'Empty arguments' {
    It '<Command> -<Parameter> <Empty> is refused or taken, never a raw .NET exception' -TestCases $cases {
        $value = switch ($Empty) { 'null' { $null } 'empty array' { , @() } 'empty string' { '' } }
        $arguments = @{ $Parameter = $value; ErrorAction = 'Stop' }
        # What else each cmdlet needs to get as far as using the value; nothing here changes a task.
        switch ($Command) {
            'Start-LlmTask' {
                if ($Parameter -ne 'Model') { $arguments.Model = 'mock/echo' }
                if ($Parameter -notin 'Prompt', 'Messages', 'InputObject') { $arguments.Prompt = 'q' }
            }
            'Invoke-LlmVerification' { if ($Parameter -ne 'Verify') { $arguments.Verify = @{ Type = 'NotEmpty' } } }
            'Invoke-LlmTaskWorker' { $arguments.UntilEmpty = $true }
            'Repair-LlmTaskStore' {
                if ($Parameter -ne 'Destination') { $arguments.Destination = Join-Path $script:folder "repaired-$([guid]::NewGuid()).db" }
                else { $arguments.StorePath = $script:store }
            }
            { $_ -in 'Stop-LlmTask', 'Remove-LlmTask', 'Approve-LlmTask', 'Restart-LlmTask' } { $arguments.WhatIf = $true }
        }

        $err = $null
        try { $null = & $Command @arguments } catch { $err = $_ }
        if ($err) {
            $err.FullyQualifiedErrorId | Should -Not -Match '^System\.' -Because "$Command -$Parameter $Empty should not fail with $($err.Exception.GetType().Name): $($err.Exception.Message)"
            $err.Exception | Should -Not -BeOfType [System.NullReferenceException]
        }
    }

    It 'refuses <Empty> for <Command> -<Parameter> instead of selecting every task' -TestCases @(
        @{ Command = 'Get-LlmTask'; Parameter = 'Id'; Empty = 'null' }
        @{ Command = 'Get-LlmTask'; Parameter = 'Id'; Empty = 'empty array' }
        @{ Command = 'Get-LlmTask'; Parameter = 'State'; Empty = 'null' }
        @{ Command = 'Get-LlmTask'; Parameter = 'State'; Empty = 'empty array' }
        @{ Command = 'Get-LlmTaskAttempt'; Parameter = 'Id'; Empty = 'null' }
        @{ Command = 'Get-LlmTaskAttempt'; Parameter = 'Id'; Empty = 'empty array' }
        @{ Command = 'Remove-LlmTask'; Parameter = 'State'; Empty = 'null' }
    ) {
        $value = if ($Empty -eq 'null') { $null } else { , @() }
        $arguments = @{ $Parameter = $value; ErrorAction = 'Stop' }
        { & $Command @arguments } | Should -Throw -ErrorId 'ParameterArgumentValidationError*'
        @(Get-LlmTask -Name kept) | Should -HaveCount 1
    }

    It 'keeps every task when an empty list of ids or states is piped on to Remove-LlmTask' {
        $none = @()
        # A binding error ends the whole pipeline: Remove-LlmTask gets nothing.
        { Get-LlmTask -Id $none | Remove-LlmTask } | Should -Throw -ErrorId 'ParameterArgumentValidationError*'
        { Get-LlmTask -State $none | Remove-LlmTask } | Should -Throw -ErrorId 'ParameterArgumentValidationError*'
        { Remove-LlmTask -State $none -ErrorAction Stop } | Should -Throw -ErrorId 'LlmTaskNoFilter*'
        @(Get-LlmTask -Name kept) | Should -HaveCount 1
    }
}

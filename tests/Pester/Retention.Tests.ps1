#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0' }
# Remove-LlmTask for retention, as people type it: -OlderThan with a TimeSpan, a string or New-TimeSpan,
# and a bare number (which PowerShell would turn into ticks: 30 would remove what finished 3 µs ago).

BeforeAll {
    $manifest = Join-Path $PSScriptRoot '../../out/LlmTasks/LlmTasks.psd1'
    Import-Module $manifest -Force
    $script:store = Join-Path ([System.IO.Path]::GetTempPath()) "llmtasks-retention-$([guid]::NewGuid()).db"
    $PSDefaultParameterValues['*-Llm*:StorePath'] = $script:store
}

AfterAll {
    $PSDefaultParameterValues.Remove('*-Llm*:StorePath')
    Remove-Module LlmTasks -ErrorAction SilentlyContinue
    Remove-Item "$script:store*" -ErrorAction SilentlyContinue
}

Describe 'Remove-LlmTask -OlderThan' {
    BeforeEach {
        Get-LlmTask | Remove-LlmTask -Force
        $null = 'one', 'two' | Start-LlmTask -Model mock/echo -Name kept -Wait
    }

    It 'refuses a bare number <Value> instead of reading it as ticks, and removes nothing' -TestCases @(
        @{ Value = 30 }
        @{ Value = 7L }
        @{ Value = 1.5 }
    ) {
        $err = $null
        try { Remove-LlmTask -State Completed -OlderThan $Value -ErrorAction Stop } catch { $err = $_ }
        $err | Should -Not -BeNullOrEmpty
        $err.FullyQualifiedErrorId | Should -BeLike 'ParameterArgumentTransformationError,*RemoveLlmTaskCommand'
        $err.Exception.Message | Should -Match 'ticks'
        $err.Exception.Message | Should -Match 'New-TimeSpan -Days'
        @(Get-LlmTask -Name kept) | Should -HaveCount 2
    }

    It 'takes days as a TimeSpan, a string or New-TimeSpan: nothing here is that old' {
        Remove-LlmTask -State Completed -OlderThan 30.00:00:00
        Remove-LlmTask -State Completed -OlderThan '30'
        Remove-LlmTask -State Completed -OlderThan (New-TimeSpan -Days 30)
        @(Get-LlmTask -Name kept) | Should -HaveCount 2
    }

    It 'takes 0 (no age at all): every finished task of those states goes' {
        Remove-LlmTask -State Completed -OlderThan 0
        @(Get-LlmTask -Name kept*) | Should -HaveCount 0
    }
}

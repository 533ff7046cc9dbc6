#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0' }
# A -Verify item may only carry the keys its Type reads. A key of another type would be ignored, so the
# check would decide without it and say nothing: @{ Type = 'Sql'; Refuse = 'Drop' } passed DROP TABLE,
# @{ Type = 'Regex'; CaseSensitive = $false } stayed case-sensitive. Refused when the spec is built.

BeforeAll {
    $manifest = Join-Path $PSScriptRoot '../../out/LlmTasks/LlmTasks.psd1'
    Import-Module $manifest -Force
    $script:store = Join-Path ([System.IO.Path]::GetTempPath()) "llmtasks-verifykeys-$([guid]::NewGuid()).db"
    $PSDefaultParameterValues['*-Llm*:StorePath'] = $script:store
}

AfterAll {
    $PSDefaultParameterValues.Remove('*-Llm*:StorePath')
    Remove-Module LlmTasks -ErrorAction SilentlyContinue
    Remove-Item "$script:store*" -ErrorAction SilentlyContinue
}

Describe 'A key the Type does not read' {
    It 'is refused for <Spec>, naming the key and what the type takes' -TestCases @(
        @{ Spec = "@{ Type = 'Sql'; Dialect = 'TSql'; Refuse = 'Drop' }"; Key = 'Refuse'; Takes = 'Dialect'; Owner = 'SqlSafe' }
        @{ Spec = "@{ Type = 'Regex'; Pattern = 'HELLO'; CaseSensitive = `$false }"; Key = 'CaseSensitive'; Takes = 'Options'; Owner = 'Contains' }
        @{ Spec = "@{ Type = 'Contains'; Text = 'a'; Min = 5 }"; Key = 'Min'; Takes = 'CaseSensitive'; Owner = 'Length' }
        @{ Spec = "@{ Type = 'Judge'; Model = 'openai/gpt-4o-mini'; Criteria = 'true'; Reference = 'facts' }"; Key = 'Reference'; Takes = 'Criteria'; Owner = 'Contradiction' }
        @{ Spec = "@{ Type = 'NotEmpty'; Pattern = 'x' }"; Key = 'Pattern'; Takes = 'Name'; Owner = 'Regex' }
    ) {
        $item = Invoke-Expression $Spec
        $err = $null
        try { 'DROP TABLE users' | Invoke-LlmVerification -Verify $item -ErrorAction Stop } catch { $err = $_ }
        $err | Should -Not -BeNullOrEmpty -Because "$Spec would decide without $Key"
        $err.FullyQualifiedErrorId | Should -BeLike 'LlmTaskInvalidVerification,*'
        $err.CategoryInfo.Category | Should -Be 'InvalidArgument'
        $err.Exception.Message | Should -Match "Verify item 1 \($($item.Type)\)"
        $err.Exception.Message | Should -Match "\b$Key\b"
        $err.Exception.Message | Should -Match "\b$Takes\b"
        $err.Exception.Message | Should -Match "\b$Owner\b"
    }

    It 'stores no task when Start-LlmTask is given one' {
        { Start-LlmTask 'q' -Model mock/echo -Verify @{ Type = 'Sql'; Refuse = 'Drop' } -ErrorAction Stop } |
            Should -Throw -ErrorId 'LlmTaskInvalidVerification,*'
        Get-LlmTask | Should -BeNullOrEmpty
    }

    It 'still takes every key a type reads, in any case' {
        $spec = @(
            @{ type = 'notempty'; name = 'has text' }
            @{ Type = 'Json' }
            @{ Type = 'JsonSchema'; Schema = @{ type = 'object' } }
            @{ Type = 'FieldPresent'; Path = 'a'; Value = 1; Present = $true }
            @{ Type = 'Regex'; Pattern = '"A"'; Options = 'IgnoreCase'; TimeoutMs = 500 }
            @{ Type = 'Contains'; Text = '"a"'; CaseSensitive = $true }
            @{ Type = 'NotContains'; Text = 'zzz'; CaseSensitive = $false }
            @{ Type = 'Length'; Min = 1; Max = 100; Words = $false }
            @{ Type = 'Code'; Language = 'Json' }
            @{ Type = 'Judge'; Model = 'openai/gpt-4o-mini'; Criteria = 'fine'; MockResponse = '{"passed": true, "reasoning": "ok"}' }
            @{ Type = 'Judge'; Model = 'openai/gpt-4o-mini'; Prompt = 'Is {OUTPUT} fine?'; MockResponse = '{"passed": true, "reasoning": "ok"}' }
            @{ Type = 'Contradiction'; Model = 'openai/gpt-4o-mini'; Reference = 'a is 1'; MockResponse = '{"passed": true, "contradictions": [], "reasoning": "ok"}' }
        )
        ('{"a": 1}' | Invoke-LlmVerification -Verify $spec).Passed | Should -BeTrue
        $sql = @{ Type = 'Sql'; Dialect = 'Sqlite' }, @{ Type = 'SqlSafe'; Dialect = 'Sqlite'; Refuse = 'Drop' }
        ('SELECT 1' | Invoke-LlmVerification -Verify $sql).Passed | Should -BeTrue
        ("openapi: 3.1.0`ninfo: {title: x, version: '1'}`npaths: {}" | Invoke-LlmVerification -Verify @{ Type = 'OpenApi'; Version = '3.1' }).Passed | Should -BeTrue
        { 'x = 1' | Invoke-LlmVerification -Verify @{ Type = 'Python'; Name = 'parses' } -ErrorAction Stop } | Should -Not -Throw
    }
}

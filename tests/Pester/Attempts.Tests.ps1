#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0' }
# Get-LlmTaskAttempt shows what each call sent readably (Messages, a list view of the conversation),
# with the raw JSON still there.

BeforeAll {
    $manifest = Join-Path $PSScriptRoot '../../out/LlmTasks/LlmTasks.psd1'
    Import-Module $manifest -Force
    $script:store = Join-Path ([System.IO.Path]::GetTempPath()) "llmtasks-pester-attempts-$([guid]::NewGuid()).db"
    $PSDefaultParameterValues['*-Llm*:StorePath'] = $script:store
    $task = Start-LlmTask 'Give a number' -System 'Be brief.' -Model mock/sequence -MockResponse 'many', '42' `
        -Verify @{ Type = 'Regex'; Pattern = '^\d+$' } -MaxAttempts 2 -Wait
    $script:attempts = @($task | Get-LlmTaskAttempt)
}

AfterAll {
    Remove-Module LlmTasks -ErrorAction SilentlyContinue
    Remove-Item "$script:store*" -ErrorAction SilentlyContinue
}

Describe 'Get-LlmTaskAttempt' {
    It 'gives each call''s conversation as Messages with Role and Content, in order' {
        $script:attempts | Should -HaveCount 2
        $first = $script:attempts[0].Messages
        @($first | ForEach-Object { "$($_.Role)" }) | Should -Be @('System', 'User')
        $first[1].Content | Should -Be 'Give a number'

        $second = $script:attempts[1].Messages
        @($second | ForEach-Object { "$($_.Role)" }) | Should -Be @('System', 'User', 'Assistant', 'User')
        $second[2].Content | Should -Be 'many'
        $second[3].Content | Should -BeLike 'Attempt 1 of 2 failed verification*Give a number*'
    }

    It 'keeps the raw request JSON, which the Messages are read from' {
        $json = $script:attempts[1].RequestJson | ConvertFrom-Json
        $json.messages.content | Should -Be @($script:attempts[1].Messages.Content)
    }

    It 'shows the conversation in its list view' {
        $text = $script:attempts[1] | Format-List | Out-String -Width 200
        $text | Should -Match 'Conversation\s*:\s*\[system\] Be brief\.'
        $text | Should -Match '\[user\] Give a number'
        $text | Should -Match '\[assistant\] many'
        $text | Should -Match 'Output\s*:\s*42'
        ($script:attempts[1] | Format-List -View Conversation | Out-String -Width 200) | Should -Be $text
    }

    It 'shows the messages as a table of role and content' {
        $table = $script:attempts[0].Messages | Out-String -Width 120
        $table | Should -Match '(?m)^Role\s+Content'
        $table | Should -Match '(?m)^user\s+Give a number'
    }
}

Describe 'Get-LlmTaskAttempt without a selection' {
    It 'lists the attempts of every task in the store, as Get-LlmTask lists every task, instead of asking for an Id' {
        $null = Start-LlmTask 'Another' -Model mock/echo -Wait
        $all = @(Get-LlmTaskAttempt -ErrorAction Stop)
        $expected = @(Get-LlmTask | Get-LlmTaskAttempt)
        $all.Count | Should -Be $expected.Count
        $all.Count | Should -BeGreaterOrEqual 3
        @($all | ForEach-Object { "$($_.TaskId)/$($_.Number)" }) | Should -Be @($expected | ForEach-Object { "$($_.TaskId)/$($_.Number)" })
    }
}

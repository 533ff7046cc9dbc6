#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0' }
# Tab completion: -Model lists every provider the engine has, -StorePath completes files relative to $PWD
# without SQLite's side files, -Name reads names only.

BeforeAll {
    $manifest = Join-Path $PSScriptRoot '../../out/LlmTasks/LlmTasks.psd1'
    Import-Module $manifest -Force
    $script:folder = Join-Path ([System.IO.Path]::GetTempPath()) "llmtasks-pester-completion-$([guid]::NewGuid())"
    New-Item -ItemType Directory -Path $script:folder | Out-Null
    $script:store = Join-Path $script:folder 'tasks.db'
    $PSDefaultParameterValues['*-Llm*:StorePath'] = $script:store

    function Get-Completion([string] $Line) {
        (TabExpansion2 -inputScript $Line -cursorColumn $Line.Length).CompletionMatches
    }
}

AfterAll {
    Remove-Module LlmTasks -ErrorAction SilentlyContinue
    Remove-Item $script:folder -Recurse -Force -ErrorAction SilentlyContinue
}

Describe '-Model completion' {
    It 'offers every provider the engine knows, each with a tooltip' {
        # The engine's own list of prefixes, as its error for a model without one names them.
        $err = $null
        Start-LlmTask 'x' -Model noprefix -ErrorVariable err -ErrorAction SilentlyContinue
        $prefixes = [regex]::Matches($err[0].Exception.Message, '\b([a-z]+)/(?=[,\s])') | ForEach-Object { $_.Groups[1].Value } | Select-Object -Unique
        $prefixes | Should -Contain 'litellm'
        $completions = Get-Completion 'Start-LlmTask -Model '
        foreach ($prefix in $prefixes) {
            $completions | Where-Object CompletionText -eq "$prefix/" | Should -HaveCount 1 -Because "$prefix/ is a provider"
        }
        ($completions | Where-Object CompletionText -eq 'openai/gpt-4o-mini').ToolTip | Should -BeLike '*$env:OPENAI_API_KEY*'
        ($completions | Where-Object CompletionText -eq 'azure/').ToolTip | Should -BeLike '*deployment*$env:AZURE_OPENAI_ENDPOINT*'
    }

    It 'offers the models this store has seen first' {
        Start-LlmTask 'x' -Model mock/delay:7 -Wait | Out-Null
        $completions = @(Get-Completion 'Start-LlmTask -Model mock/')
        $completions[0].CompletionText | Should -Be 'mock/delay:7'
        $completions[0].ToolTip | Should -Be 'Used in this store'
        $completions.CompletionText | Should -Contain 'mock/echo'
        $completions.CompletionText | Should -Not -Contain 'openai/gpt-4o-mini'
    }
}

Describe '-StorePath completion' {
    BeforeAll {
        $script:files = Join-Path $script:folder 'stores'
        New-Item -ItemType Directory -Path (Join-Path $script:files 'archive') -Force | Out-Null
        foreach ($name in 'work.db', 'work.db-wal', 'work.db-shm', 'work.db-journal') { Set-Content -LiteralPath (Join-Path $script:files $name) -Value '' }
    }

    It 'completes files relative to $PWD, not the process folder, without -wal, -shm and -journal' {
        Push-Location $script:files
        try {
            [Environment]::CurrentDirectory | Should -Not -Be $script:files # Set-Location moves $PWD only
            $texts = @((Get-Completion 'Get-LlmTask -StorePath ./w').CompletionText)
            $texts | Should -HaveCount 1
            $texts[0] | Should -Match 'work\.db$'
            $all = @((Get-Completion 'Get-LlmTask -StorePath ./').CompletionText)
            @($all | Where-Object { $_ -match 'archive' }) | Should -HaveCount 1
            @($all | Where-Object { $_ -match '-(wal|shm|journal)$' }) | Should -BeNullOrEmpty
            $all.Count | Should -Be 2
        }
        finally { Pop-Location }
    }
}

Describe '-Name completion' {
    It 'offers the names in the store given by a relative -StorePath, resolved against $PWD' {
        $other = Join-Path $script:folder 'other.db'
        Start-LlmTask 'x' -Model mock/echo -Name 'weekly digest' -StorePath $other -Wait | Out-Null
        Push-Location $script:folder
        try {
            @(Get-Completion 'Get-LlmTask -StorePath ./other.db -Name wee').CompletionText | Should -Be @("'weekly digest'")
        }
        finally { Pop-Location }
    }

    It 'offers nothing, and fails nothing, for a file that is not a store' {
        $junk = Join-Path $script:folder 'junk.db'
        Set-Content -LiteralPath $junk -Value 'not sqlite'
        @(Get-Completion "Get-LlmTask -StorePath '$junk' -Name x") | Should -BeNullOrEmpty
        Get-Content -LiteralPath $junk | Should -Be 'not sqlite'
    }
}

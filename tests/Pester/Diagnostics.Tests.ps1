#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0' }
# -Verbose and -Debug tell what the engine does (store, tasks, calls, retries, checks), written from the
# cmdlet's own thread while it works; messages name environment variables the way PowerShell users set them.

BeforeAll {
    # One retry, so a refused connection shows a retry and its wait without a long test. Read when the
    # module's task managers are created, so it is set before the import.
    $env:LLMTASKS_MAX_RETRIES = '1'
    $manifest = Join-Path $PSScriptRoot '../../out/LlmTasks/LlmTasks.psd1'
    Import-Module $manifest -Force
    $script:folder = Join-Path ([System.IO.Path]::GetTempPath()) "llmtasks-pester-diag-$([guid]::NewGuid())"
    New-Item -ItemType Directory -Path $script:folder | Out-Null
    $script:store = Join-Path $script:folder 'tasks.db'
    $PSDefaultParameterValues['*-Llm*:StorePath'] = $script:store
    # 127.0.0.1 port 9 (discard): nothing listens, so every connection is refused at once.
    $script:refused = 'http://127.0.0.1:9/v1'
}

AfterAll {
    Remove-Module LlmTasks -ErrorAction SilentlyContinue
    Remove-Item $script:folder -Recurse -Force -ErrorAction SilentlyContinue
    Remove-Item Env:LLMTASKS_MAX_RETRIES -ErrorAction SilentlyContinue
}

Describe '-Verbose' {
    It 'tells which store opened, which task was stored, the call and how it ended, before the task is written' {
        $fresh = Join-Path $script:folder 'fresh.db'
        $records = Start-LlmTask 'hello' -Model mock/echo -StorePath $fresh -Wait -Verbose 4>&1
        $verbose = @($records | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] } | ForEach-Object Message)
        $task = $records | Where-Object { $_ -isnot [System.Management.Automation.VerboseRecord] }
        $task.State | Should -Be 'Completed'
        $verbose[0] | Should -BeLike "Opened the task store '$fresh' (schema version *, read-write)."
        $verbose | Should -Contain "Task $($task.Id): Stored (mock/echo); it runs in this session."
        $verbose | Should -Contain "Task $($task.Id): Calling mock/echo with the mock provider."
        $verbose | Where-Object { $_ -like "Task $($task.Id): The call to mock/echo succeeded in * ms, * input and * output tokens." } | Should -HaveCount 1
        [array]::IndexOf(@($records), $task) | Should -Be ($records.Count - 1)
    }

    It 'writes nothing without -Verbose' {
        $records = Start-LlmTask 'quiet' -Model mock/echo -Wait 4>&1 5>&1
        @($records | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] -or $_ -is [System.Management.Automation.DebugRecord] }) | Should -BeNullOrEmpty
        $records.State | Should -Be 'Completed'
    }

    It 'follows $VerbosePreference as well as -Verbose' {
        $VerbosePreference = 'Continue'
        $records = Start-LlmTask 'pref' -Model mock/echo -Wait 4>&1
        $VerbosePreference = 'SilentlyContinue'
        @($records | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }).Count | Should -BeGreaterThan 1
    }

    It 'names the endpoint, each retry with its wait and the failure, and never the key' {
        $key = 'sk-pester-never-shown-4c1d'
        $records = Start-LlmTask 'hi' -Model openai/gpt-4o-mini -ApiBase $script:refused -ApiKey $key -Wait -Verbose 4>&1 5>&1
        $verbose = @($records | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] } | ForEach-Object Message)
        $verbose | Where-Object { $_ -like "*: Calling openai/gpt-4o-mini at $script:refused." } | Should -HaveCount 1
        $verbose | Where-Object { $_ -like '*: Try 1 of 2 failed (ConnectionFailed); trying again in * s. The connection to the provider failed*' } | Should -HaveCount 1
        $verbose | Where-Object { $_ -like '*: The call to openai/gpt-4o-mini ended Failed (ConnectionFailed)*gave up after 2 tries*' } | Should -HaveCount 1
        ($records | Out-String) + ($verbose -join "`n") | Should -Not -Match ([regex]::Escape($key))
        ($records | Where-Object { $_.PSObject.TypeNames[0] -eq 'LlmTasks.LlmTask' }).State | Should -Be 'Failed'
    }

    It 'shows a call that finishes while Wait-LlmTask waits, as it happens (before the finished task)' {
        $task = Start-LlmTask 'later' -Model mock/delay:1000
        $records = @($task | Wait-LlmTask -Verbose 4>&1)
        $finished = $records | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] -and $_.Message -like "Task $($task.Id): The call to mock/delay:1000 succeeded*" }
        $finished | Should -HaveCount 1
        [array]::IndexOf($records, $finished) | Should -BeLessThan ([array]::IndexOf($records, ($records | Where-Object { $_.PSObject.TypeNames[0] -eq 'LlmTasks.LlmTask' })))
    }
}

Describe '-Debug' {
    It 'gives each check result of Invoke-LlmVerification, before that input''s result' {
        $records = @('abc' | Invoke-LlmVerification -Verify @{ Type = 'Contains'; Text = 'z' }, { param($Output) $true } -Debug 5>&1)
        $debug = @($records | Where-Object { $_ -is [System.Management.Automation.DebugRecord] } | ForEach-Object Message)
        $debug[0] | Should -BeLike "Check 1 Contains failed in * ms: The output does not contain 'z'*"
        $debug[1] | Should -BeLike 'Check 2 ScriptBlock (Script) passed in * ms'
        $records[-1].Passed | Should -BeFalse
    }

    It 'gives the check results of a task as it is verified, and the verbose narration too, without prompting' {
        $records = Start-LlmTask 'abc' -Model mock/echo -Verify @{ Type = 'Length'; Max = 10 } -Wait -Debug 4>&1 5>&1
        $task = $records | Where-Object { $_.PSObject.TypeNames[0] -eq 'LlmTasks.LlmTask' }
        $task.State | Should -Be 'Completed'
        $debug = @($records | Where-Object { $_ -is [System.Management.Automation.DebugRecord] } | ForEach-Object Message)
        $debug | Where-Object { $_ -like "Task $($task.Id): Check 1 Length passed*" } | Should -HaveCount 1
        $debug | Should -Contain "Task $($task.Id): Stored (mock/echo); it runs in this session."
    }
}

Describe 'Messages for PowerShell users' {
    It 'names a missing key as $env:OPENAI_API_KEY' {
        $saved = $env:OPENAI_API_KEY
        $env:OPENAI_API_KEY = $null
        try {
            $task = Start-LlmTask 'x' -Model openai/gpt-4o-mini -ApiBase $script:refused -Wait
            $task.ErrorKind | Should -Be 'LlmTaskMissingApiKey'
            $task.Error | Should -BeLike '*set $env:OPENAI_API_KEY *'
            $task.Error | Should -Not -Match '(?<!env:)\$OPENAI_API_KEY'
        }
        finally { $env:OPENAI_API_KEY = $saved }
    }

    It 'names the default model variable as $env:LLMTASKS_DEFAULT_MODEL' {
        $saved = $env:LLMTASKS_DEFAULT_MODEL
        $env:LLMTASKS_DEFAULT_MODEL = $null
        try {
            $err = $null
            Start-LlmTask 'x' -ErrorVariable err -ErrorAction SilentlyContinue
            $err[0].FullyQualifiedErrorId | Should -BeLike 'LlmTaskNoModel,*'
            $err[0].Exception.Message | Should -BeLike '*or set $env:LLMTASKS_DEFAULT_MODEL.'
        }
        finally { $env:LLMTASKS_DEFAULT_MODEL = $saved }
    }

    It 'names the default provider variable as $env:LLMTASKS_DEFAULT_PROVIDER' {
        $err = $null
        Start-LlmTask 'x' -Model gpt-4o -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].Exception.Message | Should -BeLike '*or set $env:LLMTASKS_DEFAULT_PROVIDER.'
    }
}

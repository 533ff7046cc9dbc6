#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0' }
# Rate limits through the cmdlets: Set-LlmRateLimit / Get-LlmRateLimit / Remove-LlmRateLimit, and tasks paced against
# a loopback OpenAI-style server that enforces requests per minute with a token bucket (429 + retry-after-ms +
# x-ratelimit-* headers), the way OpenAI does.

BeforeAll {
    $manifest = Join-Path $PSScriptRoot '../../out/LlmTasks/LlmTasks.psd1'
    Import-Module $manifest -Force
    $script:folder = Join-Path ([System.IO.Path]::GetTempPath()) "llmtasks-pester-ratelimits-$([guid]::NewGuid())"
    New-Item -ItemType Directory -Path $script:folder | Out-Null
    $PSDefaultParameterValues['*-Llm*:StorePath'] = Join-Path $script:folder 'tasks.db'
    $script:key = ConvertTo-SecureString 'sk-test-0123456789abcdef' -AsPlainText -Force

    . (Join-Path $PSScriptRoot 'LoopbackServers.ps1')
}

AfterAll {
    Get-LlmRateLimit | Where-Object Source -eq Session | Remove-LlmRateLimit
    Remove-Module LlmTasks -ErrorAction SilentlyContinue
    Remove-Item $script:folder -Recurse -Force -ErrorAction SilentlyContinue
}

Describe 'Set-LlmRateLimit' {
    AfterEach { Get-LlmRateLimit | Where-Object Source -eq Session | Remove-LlmRateLimit }

    It 'paces a burst of piped prompts to the limit: all complete, the server answers almost no 429s' {
        $server = New-QuotaServer -RequestsPerMinute 600 # 10 a second, holding 10
        try {
            Set-LlmRateLimit openai/gpt-4o-mini -RequestsPerMinute 600
            $verbose = $null
            $tasks = 1..30 | ForEach-Object { "question $_" } |
                Start-LlmTask -Model openai/gpt-4o-mini -ApiBase $server.BaseUrl -ApiKey $script:key -ThrottleLimit 16 -Wait -Verbose 4>&1 |
                Tee-Object -Variable verbose | Where-Object { $_ -isnot [System.Management.Automation.VerboseRecord] }
            $tasks | Should -HaveCount 30
            ($tasks | Group-Object State).Name | Should -Be 'Completed'
            $server.Answered | Should -Be 30
            $server.RateLimited | Should -BeLessOrEqual 1 -Because 'unpaced, 16 calls at once against 10 a second are refused again and again'
            ($verbose | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }).Message |
                Where-Object { $_ -like '*for the rate limit before calling openai/gpt-4o-mini: openai/gpt-4o-mini at 600 requests a minute*' } |
                Should -Not -BeNullOrEmpty
        }
        finally { $server.Dispose() }
    }

    It 'refuses a scope that is neither a provider nor a whole model, and numbers out of range' {
        $err = $null
        Set-LlmRateLimit 'openai/' -RequestsPerMinute 5 -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'LlmTaskInvalidRateLimit*'
        $err[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
        Set-LlmRateLimit openai -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].Exception.Message | Should -BeLike '*give -RequestsPerMinute, -TokensPerMinute or both*'
        { Set-LlmRateLimit openai -RequestsPerMinute 0 } | Should -Throw -ErrorId 'ParameterArgumentValidationError,LlmTasks.PowerShell.Commands.SetLlmRateLimitCommand'
        Get-LlmRateLimit | Where-Object Source -eq Session | Should -BeNullOrEmpty
    }
}

Describe 'Get-LlmRateLimit' {
    It 'shows the limit learned from the headers when none is set, and the calls keep to it' {
        $server = New-QuotaServer -RequestsPerMinute 300 # 5 a second
        try {
            $tasks = 1..15 | ForEach-Object { "learned $_" } | Start-LlmTask -Model openai/gpt-4o-mini -ApiBase $server.BaseUrl -ApiKey $script:key -ThrottleLimit 2 -Wait
            ($tasks | Group-Object State).Name | Should -Be 'Completed'
            $server.RateLimited | Should -BeLessOrEqual 1
            $learned = Get-LlmRateLimit openai/* | Where-Object Source -eq Headers
            $learned.Scope | Should -Be 'openai/gpt-4o-mini'
            $learned.RequestsPerMinute | Should -Be 300
            $learned.SharedBy | Should -Be 1
            $learned.StorePath | Should -Be $PSDefaultParameterValues['*-Llm*:StorePath']
        }
        finally { $server.Dispose() }
    }
}

Describe 'Remove-LlmRateLimit' {
    It 'writes LlmTaskRateLimitNotFound for a scope the session did not set' {
        $err = $null
        Remove-LlmRateLimit anthropic -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'LlmTaskRateLimitNotFound*'
        $err[0].TargetObject | Should -Be 'anthropic'
    }
}

#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0' }
# The Python, Sql, SqlSafe, OpenApi and Contradiction checks through the cmdlets in real pwsh, with the
# module as built (its engine load context, the PostgreSQL parser it carries in deps/pg).

BeforeAll {
    $manifest = Join-Path $PSScriptRoot '../../out/LlmTasks/LlmTasks.psd1'
    Import-Module $manifest -Force
    $script:store = Join-Path ([System.IO.Path]::GetTempPath()) "llmtasks-checks-$([guid]::NewGuid()).db"
    $PSDefaultParameterValues['*-Llm*:StorePath'] = $script:store
    $script:work = Join-Path ([System.IO.Path]::GetTempPath()) "llmtasks-checks-$([guid]::NewGuid())"
    New-Item -ItemType Directory -Path $script:work | Out-Null
}

AfterAll {
    Remove-Module LlmTasks -ErrorAction SilentlyContinue
    Remove-Item "$script:store*" -ErrorAction SilentlyContinue
    Remove-Item $script:work -Recurse -Force -ErrorAction SilentlyContinue
}

Describe 'Sql' {
    It 'parses each dialect with its own parser: TOP and [brackets] are T-SQL, LIMIT and "quotes" are not' {
        $top = 'SELECT TOP 5 [name] FROM [users];'
        $limit = 'SELECT "name" FROM users LIMIT 5;'
        $results = $top, $limit | Invoke-LlmVerification -Verify @{ Type = 'Sql'; Dialect = 'TSql' }
        $results.Passed | Should -Be @($true, $false)
        $results[1].Checks[0].Reason | Should -Match 'line 1, column \d+: .*LIMIT'

        $limit | Invoke-LlmVerification -Verify @{ Type = 'Sql'; Dialect = 'Sqlite' } -Quiet | Should -BeTrue
        $limit | Invoke-LlmVerification -Verify @{ Type = 'Sql'; Dialect = 'PostgreSql' } -Quiet | Should -BeTrue
        $top | Invoke-LlmVerification -Verify @{ Type = 'Sql'; Dialect = 'PostgreSql' } -Quiet | Should -BeFalse
    }

    It 'fails a misspelt keyword at its line and column, in a fenced block, in every dialect' {
        $answer = "The query:`n``````sql`nSELECT id`nFORM users;`n```````n"
        foreach ($dialect in 'TSql', 'Sqlite', 'PostgreSql', 'Generic') {
            $check = ($answer | Invoke-LlmVerification -Verify @{ Type = 'Sql'; Dialect = $dialect }).Checks[0]
            $check.Passed | Should -BeFalse -Because $dialect
            $check.Reason | Should -Match 'line 4, column' -Because "$dialect`: $($check.Reason)"
        }
    }

    It 'reads SQL from a file piped with Get-Content -Raw; names not in the empty database are no syntax error' {
        $file = Join-Path $script:work 'query.sql'
        "-- DROP TABLE users`nSELECT name FROM users WHERE note = 'SELEC';`nINSERT INTO audit (what) VALUES ('read');" | Set-Content -Path $file
        $result = Get-Content -Path $file -Raw | Invoke-LlmVerification -Verify @{ Type = 'Sql'; Dialect = 'Sqlite' }
        $result.Passed | Should -BeTrue
        $result.Checks[0].Reason | Should -Match '2 SQLite statement\(s\): SELECT, INSERT'
        ($result.Checks[0].Details | ConvertFrom-Json).statements.kind | Should -Be @('SELECT', 'INSERT')
    }

    It 'refuses an unknown Dialect before anything is stored' {
        $before = @(Get-LlmTask).Count
        { Start-LlmTask 'q' -Model mock/echo -Verify @{ Type = 'Sql'; Dialect = 'Oracle' } -ErrorAction Stop } |
            Should -Throw -ErrorId 'LlmTaskInvalidVerification,LlmTasks.PowerShell.Commands.StartLlmTaskCommand'
        @(Get-LlmTask).Count | Should -Be $before
    }
}

Describe 'SqlSafe' {
    It 'ignores refused words in strings and comments and names the statement that breaks a rule' {
        $safe = "SELECT 'DROP TABLE users; DELETE FROM users' AS note FROM users -- TRUNCATE`nWHERE id = 1;"
        $unsafe = "SELECT 1;`nDELETE FROM users;`nDROP TABLE logs;"
        foreach ($dialect in 'TSql', 'Sqlite', 'PostgreSql') {
            $safe | Invoke-LlmVerification -Verify @{ Type = 'SqlSafe'; Dialect = $dialect } -Quiet | Should -BeTrue -Because $dialect
            $reason = ($unsafe | Invoke-LlmVerification -Verify @{ Type = 'SqlSafe'; Dialect = $dialect }).Checks[0].Reason
            $reason | Should -Match 'statement 2 \(line 2, column 1, DELETE\): DELETE without WHERE' -Because $dialect
            $reason | Should -Match 'statement 3 \(line 3, column 1, DROP TABLE\): DROP TABLE is refused \(Drop\)' -Because $dialect
        }
    }

    It 'takes the rules to refuse from Refuse, and refuses an unknown rule by name' {
        'DELETE FROM logs WHERE id < 5;' | Invoke-LlmVerification -Verify @{ Type = 'SqlSafe'; Dialect = 'Sqlite'; Refuse = 'Delete', 'Drop' } -Quiet |
            Should -BeFalse
        'DROP TABLE logs;' | Invoke-LlmVerification -Verify @{ Type = 'SqlSafe'; Refuse = 'Delete' } -Quiet | Should -BeTrue
        { 'x' | Invoke-LlmVerification -Verify @{ Type = 'SqlSafe'; Refuse = 'Nuke' } -ErrorAction Stop } |
            Should -Throw -ExpectedMessage "*Refuse names unknown rule(s) 'Nuke'*"
    }

    It 're-asks until the model leaves out the refused statement' {
        $task = Start-LlmTask 'Clean up the logs table' -Model mock/sequence -MockResponse 'TRUNCATE TABLE logs;', 'DELETE FROM logs WHERE created < ''2020-01-01'';' `
            -Verify @{ Type = 'SqlSafe'; Dialect = 'TSql' } -MaxAttempts 2 -Wait
        $task.State | Should -Be 'Completed'
        $task.Attempts | Should -Be 2
        $first = Get-LlmTaskAttempt -Id $task.Id | Select-Object -First 1
        $first.Error | Should -Match 'TRUNCATE TABLE is refused \(Truncate\)'
    }
}

Describe 'Python' {
    It 'passes code that parses and fails a syntax error at its line and column' {
        $good = "``````python`ndef add(a, b):`n    return a + b`n``````"
        $bad = "def add(a, b)`n    return a + b"
        $results = $good, $bad | Invoke-LlmVerification -Verify @{ Type = 'Python' }
        $results.Passed | Should -Be @($true, $false)
        $results[1].Checks[0].Reason | Should -Match 'line 1, column \d+: SyntaxError'
    }

    It 'is unavailable, and the task needs review, when there is no Python' {
        $env:LLMTASKS_PYTHON = Join-Path $script:work 'no-such-python'
        try {
            $check = ('print(1)' | Invoke-LlmVerification -Verify @{ Type = 'Python' }).Checks[0]
            $check.Passed | Should -BeFalse
            $check.Unavailable | Should -BeTrue
            $check.Reason | Should -Match 'no-such-python'
            $task = Start-LlmTask 'code please' -Model mock/echo -MockResponse 'print(1)' -Verify @{ Type = 'Python' } -MaxAttempts 3 -Wait
            $task.State | Should -Be 'NeedsReview'
            $task.Attempts | Should -Be 1
        }
        finally {
            Remove-Item Env:LLMTASKS_PYTHON
        }
    }
}

Describe 'OpenApi' {
    It 'accepts OpenAPI 3.1 YAML, 3.0 JSON and Swagger 2.0, and checks Version' {
        $yaml = @'
openapi: 3.1.0
info:
  title: Pets
  version: '1.0'
paths:
  /pets:
    get:
      responses:
        '200':
          description: ok
'@
        $json = @{ openapi = '3.0.3'; info = @{ title = 'Pets'; version = '1' }; paths = @{} } | ConvertTo-Json -Depth 5
        $swagger = "swagger: '2.0'`ninfo:`n  title: Pets`n  version: '1'`npaths: {}"
        ($yaml, $json, $swagger | Invoke-LlmVerification -Verify @{ Type = 'OpenApi' }).Passed | Should -Be @($true, $true, $true)
        $yaml | Invoke-LlmVerification -Verify @{ Type = 'OpenApi'; Version = 3.1 } -Quiet | Should -BeTrue
        $json | Invoke-LlmVerification -Verify @{ Type = 'OpenApi'; Version = 3.0 } -Quiet | Should -BeTrue   # the number 3.0, not '3'
        $swagger | Invoke-LlmVerification -Verify @{ Type = 'OpenApi'; Version = '3.0' } -Quiet | Should -BeFalse
    }

    It 'gives the reader''s errors with their JSON pointers' {
        $reason = ("openapi: 3.0.0`ninfo:`n  version: '1'`npaths: {}" | Invoke-LlmVerification -Verify @{ Type = 'OpenApi' }).Checks[0].Reason
        $reason | Should -Match '#/info/title'
    }
}

Describe 'Contradiction' {
    It 'fails with the contradictions the judge found, and its call is an attempt of the task' {
        $verdict = @{ passed = $false; reasoning = 'dates disagree'; contradictions = @(@{ claim = 'The launch is in May'; conflictsWith = 'launching in June'; explanation = 'two months' }) } |
            ConvertTo-Json -Depth 5 -Compress
        $task = Start-LlmTask 'When is the launch?' -Model mock/echo -MockResponse 'The launch is in May. We are launching in June.' `
            -Verify @{ Type = 'Contradiction'; Model = 'mock/echo'; MockResponse = $verdict; Reference = 'The launch is in June.' } -Wait
        $task.State | Should -Be 'NeedsReview'
        ($task | Get-LlmTask).FailedChecks[0].Reason | Should -Match '1 contradiction\(s\): 1\. "The launch is in May" contradicts "launching in June": two months'
        @(Get-LlmTaskAttempt -Id $task.Id).Count | Should -Be 2
    }

    It 'passes when the judge finds none' {
        'Water boils at 100 C at sea level.' |
            Invoke-LlmVerification -Verify @{ Type = 'Contradiction'; Model = 'mock/echo'; MockResponse = '{"passed":true,"contradictions":[],"reasoning":"consistent"}' } -Quiet |
            Should -BeTrue
    }
}

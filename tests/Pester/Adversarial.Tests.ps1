#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0' }
# What an adversarial run in real pwsh found, kept in the suite at CI size: a damaged store, bad input that
# had no error of its own, task names with wildcard characters, folders made under a permissive umask.

BeforeAll {
    $script:manifest = (Resolve-Path (Join-Path $PSScriptRoot '../../out/LlmTasks/LlmTasks.psd1')).Path
    Import-Module $script:manifest -Force
    $script:root = Join-Path ([System.IO.Path]::GetTempPath()) "llmtasks-adversarial-$([guid]::NewGuid())"
    New-Item -ItemType Directory -Path $script:root | Out-Null
    $script:store = Join-Path $script:root 'tasks.db'
    $PSDefaultParameterValues['*-Llm*:StorePath'] = $script:store

    # Another real pwsh, as a second session or a fresh shell would be (the one running the tests is started
    # as `dotnet pwsh.dll`: the same here). Its script is a file, so nothing needs quoting twice.
    function script:Invoke-Pwsh([string] $Script, [string[]] $Arguments = @(), [switch] $Umask000) {
        $file = Join-Path $script:root "child-$([guid]::NewGuid()).ps1"
        Set-Content -LiteralPath $file -Value "Import-Module '$script:manifest'`n$Script"
        $pwshDll = Join-Path $PSHOME 'pwsh.dll'
        if ($Umask000) {
            $output = & bash -c 'umask 000; exec "$@"' bash dotnet $pwshDll -NoProfile -NonInteractive -File $file @Arguments 2>&1
        } else {
            $output = & dotnet $pwshDll -NoProfile -NonInteractive -File $file @Arguments 2>&1
        }
        if ($LASTEXITCODE -ne 0) { throw "child pwsh failed ($LASTEXITCODE): $output" }
        $output
    }

    # 4 KB of random bytes (always the same ones) over the page that holds a task from the middle of the store,
    # found by its text, as a failing disk would write them: where SQLite put it depends on how inserts were
    # batched, the page it is on does not.
    function script:Set-Damage([string] $Path, [string] $Marker = '"content":"prompt 150 ') {
        $text = [System.Text.Encoding]::Latin1.GetString([System.IO.File]::ReadAllBytes($Path))
        $at = $text.IndexOf($Marker, [System.StringComparison]::Ordinal)
        if ($at -lt 0) { throw "'$Marker' is not in $Path" }
        $garbage = [byte[]]::new(4096)
        [System.Random]::new(7).NextBytes($garbage)
        $stream = [System.IO.File]::OpenWrite($Path)
        try { $stream.Position = [long]([math]::Floor($at / 4096) * 4096); $stream.Write($garbage, 0, $garbage.Length) } finally { $stream.Dispose() }
    }
}

AfterAll {
    Remove-Module LlmTasks -ErrorAction SilentlyContinue
    Remove-Item -LiteralPath $script:root -Recurse -Force -ErrorAction SilentlyContinue
}

Describe 'A damaged store' {
    BeforeAll {
        $script:damaged = Join-Path $script:root 'damaged.db'
        # Made and closed by another session: its pages are in the file, nothing of it is cached here.
        Invoke-Pwsh -Arguments $script:damaged -Script @'
$store = $args[0]
1..300 | ForEach-Object { "prompt $_ " + ('x' * 200) } | Start-LlmTask -Model mock/echo -StorePath $store -Wait | Out-Null
1..3 | ForEach-Object { "doomed $_" } | Start-LlmTask -Model mock/fail -StorePath $store -Wait | Out-Null
'@ | Out-Null
        Set-Damage $script:damaged
        $script:hash = (Get-FileHash -LiteralPath $script:damaged).Hash
    }

    It 'refuses Start-LlmTask with LlmTaskStoreCorrupt, saying how to recover' {
        { Start-LlmTask 'new work' -Model mock/echo -StorePath $script:damaged -ErrorAction Stop } |
            Should -Throw -ErrorId 'LlmTaskStoreCorrupt,LlmTasks.PowerShell.Commands.StartLlmTaskCommand'
        Start-LlmTask 'new work' -Model mock/echo -StorePath $script:damaged -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].CategoryInfo.Category | Should -Be 'InvalidData'
        $err[0].Exception.Message | Should -Match 'Repair-LlmTaskStore'
    }

    It 'refuses Remove-LlmTask, Restart-LlmTask and stored verification results the same way' {
        { Remove-LlmTask -Id 1 -StorePath $script:damaged -ErrorAction Stop } |
            Should -Throw -ErrorId 'LlmTaskStoreCorrupt,LlmTasks.PowerShell.Commands.RemoveLlmTaskCommand'
        { Restart-LlmTask -Id 302 -StorePath $script:damaged -ErrorAction Stop } | Should -Throw -ErrorId 'LlmTaskStoreCorrupt*'
        { Invoke-LlmVerification -Id 1 -Verify @{ Type = 'NotEmpty' } -StorePath $script:damaged -ErrorAction Stop } | Should -Throw -ErrorId 'LlmTaskStoreCorrupt*'
    }

    It 'leaves the file byte for byte as it was, also after another session has tried it' {
        Invoke-Pwsh -Arguments $script:damaged -Script @'
try { Start-LlmTask 'from a new shell' -Model mock/echo -StorePath $args[0] -ErrorAction Stop; 'written' } catch { $_.FullyQualifiedErrorId }
'@ | Should -Be 'LlmTaskStoreCorrupt,LlmTasks.PowerShell.Commands.StartLlmTaskCommand'
        (Get-FileHash -LiteralPath $script:damaged).Hash | Should -Be $script:hash
    }

    It 'Repair-LlmTaskStore copies what can be read into a new store that works' {
        $saved = Join-Path $script:root 'saved/recovered.db'
        $result = Repair-LlmTaskStore -StorePath $script:damaged -Destination $saved
        $result.TasksRecovered | Should -BeGreaterThan 150
        $result.TasksLost | Should -BeGreaterThan 0
        $result.SourceCheck | Should -Not -Be 'ok'
        (Get-FileHash -LiteralPath $script:damaged).Hash | Should -Be $script:hash

        $tasks = Get-LlmTask -StorePath $saved
        $tasks | Should -HaveCount $result.TasksRecovered
        $completed = $tasks | Where-Object State -EQ 'Completed'
        $completed | ForEach-Object { $_.Output | Should -BeExactly $_.Prompt }
        $completed | ForEach-Object { $_.Prompt | Should -Match "^prompt $($_.Id) x{200}$" }   # the same task under the same id
        (Get-LlmTaskAttempt -Id $completed[0].Id -StorePath $saved).Outcome | Should -Be 'Succeeded'
        (Start-LlmTask 'after the repair' -Model mock/echo -StorePath $saved -Wait).State | Should -Be 'Completed'
        { Repair-LlmTaskStore -StorePath $script:damaged -Destination $saved -ErrorAction Stop } |
            Should -Throw -ErrorId 'LlmTaskStoreExists,LlmTasks.PowerShell.Commands.RepairLlmTaskStoreCommand'
    }
}

Describe 'Bad input gets its own error and stores nothing' {
    BeforeAll {
        Start-LlmTask 'kept' -Model mock/echo -Wait | Out-Null
        $script:before = @(Get-LlmTask).Count
    }

    It 'refuses <Case> with <ErrorId>' -TestCases @(
        @{ Case = '-TimeoutSec 4294968 (past what a timer can take)'; Options = @{ TimeoutSec = 4294968 }; ErrorId = 'LlmTaskInvalidTimeout' }
        @{ Case = '-TimeoutSec past 7 days'; Options = @{ TimeoutSec = 604801 }; ErrorId = 'LlmTaskInvalidTimeout' }
        @{ Case = '-TimeoutSec NaN'; Options = @{ TimeoutSec = [double]::NaN }; ErrorId = 'LlmTaskInvalidTimeout' }
        @{ Case = '-TimeoutSec 0'; Options = @{ TimeoutSec = 0 }; ErrorId = 'LlmTaskInvalidTimeout' }
        @{ Case = '-Temperature 2.5'; Options = @{ Temperature = 2.5 }; ErrorId = 'LlmTaskInvalidTemperature' }
        @{ Case = '-Temperature NaN'; Options = @{ Temperature = [double]::NaN }; ErrorId = 'LlmTaskInvalidTemperature' }
        @{ Case = '-MaxTokens 0'; Options = @{ MaxTokens = 0 }; ErrorId = 'LlmTaskInvalidMaxTokens' }
        @{ Case = 'an invalid -JsonSchema {"type":5}'; Options = @{ JsonSchema = '{"type":5}' }; ErrorId = 'LlmTaskInvalidJsonSchema' }
        @{ Case = 'a -JsonSchema whose required is not a list'; Options = @{ JsonSchema = @{ type = 'object'; required = 'name' } }; ErrorId = 'LlmTaskInvalidJsonSchema' }
        @{ Case = 'an unknown provider with -MockResponse'; Options = @{ Model = 'bogus/x'; MockResponse = 'canned' }; ErrorId = 'LlmTaskUnknownProvider' }
    ) {
        param($Case, $Options, $ErrorId)
        $splat = @{ Model = 'mock/echo' } + @{}
        foreach ($key in $Options.Keys) { $splat[$key] = $Options[$key] }
        Start-LlmTask 'refused' @splat -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $err | Should -HaveCount 1
        $err[0].FullyQualifiedErrorId | Should -Be "$ErrorId,LlmTasks.PowerShell.Commands.StartLlmTaskCommand"
        $err[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
        $err[0].Exception.Message | Should -Not -Match 'Exception'
        @(Get-LlmTask).Count | Should -Be $script:before
    }

    It 'refuses -MaxTurns and -MaxAttempts out of range' {
        # -MaxTurns also binds from piped rows, so the cmdlet checks it (one bad row must not end the pipeline).
        Start-LlmTask 'x' -Model max/sonnet -MaxTurns 1001 -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $err[0].FullyQualifiedErrorId | Should -Be 'LlmTaskInvalidMaxTurns,LlmTasks.PowerShell.Commands.StartLlmTaskCommand'
        $err[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
        { Start-LlmTask 'x' -Model mock/echo -Verify @{ Type = 'NotEmpty' } -MaxAttempts 101 } | Should -Throw -ErrorId 'ParameterArgumentValidationError,LlmTasks.PowerShell.Commands.StartLlmTaskCommand'
        @(Get-LlmTask).Count | Should -Be $script:before
    }

    It 'refuses a prompt over 64 M characters with LlmTaskPromptTooLarge, not a raw ArgumentException' {
        $huge = 'p' * (64MB + 1)
        Start-LlmTask $huge -Model mock/echo -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $huge = $null
        $err[0].FullyQualifiedErrorId | Should -Be 'LlmTaskPromptTooLarge,LlmTasks.PowerShell.Commands.StartLlmTaskCommand'
        $err[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
        @(Get-LlmTask).Count | Should -Be $script:before
    }
}

Describe 'Task names with wildcard characters, as -like and Get-ChildItem -Path read them' {
    BeforeAll {
        $script:names = 'plain', 'a', 'b', ']', '-', '[a]', '[draft] report', 'x*y', 'x?y', 'xzy', 'back`tick', '50%', 'under_score', 'underXscore', 'A]'
        $script:nameStore = Join-Path $script:root 'names.db'
        $script:names | ForEach-Object { Start-LlmTask 'p' -Model mock/echo -Name $_ -StorePath $script:nameStore } | Out-Null
    }

    It 'Get-LlmTask -Name <Pattern> finds what -like finds' -TestCases @(
        @{ Pattern = '[a]' }, @{ Pattern = '`[a`]' }, @{ Pattern = '`[a]' }, @{ Pattern = '[[]a]' }, @{ Pattern = '`[draft`]*' },
        @{ Pattern = '*`**' }, @{ Pattern = 'x?y' }, @{ Pattern = 'x`?y' }, @{ Pattern = '50%' }, @{ Pattern = '5?%' },
        @{ Pattern = 'under_score' }, @{ Pattern = 'under?score' }, @{ Pattern = 'back``tick' }, @{ Pattern = '[]a]' },
        @{ Pattern = '[a-c]' }, @{ Pattern = '[-]' }, @{ Pattern = 'A`]' }, @{ Pattern = '*' }, @{ Pattern = 'PLAIN' }, @{ Pattern = '[x][*?z]y' }
    ) {
        param($Pattern)
        $expected = @($script:names | Where-Object { $_ -like $Pattern } | Sort-Object) -join '|'
        $expected | Should -Not -BeNullOrEmpty -Because 'each pattern matches some name: the comparison must prove something'
        $got = @(Get-LlmTask -Name $Pattern -StorePath $script:nameStore | ForEach-Object Name | Sort-Object) -join '|'
        $got | Should -BeExactly $expected
    }

    It 'refuses the invalid pattern <Pattern> with LlmTaskInvalidWildcard, as -like refuses it' -TestCases @(
        @{ Pattern = '[]' }, @{ Pattern = '[a' }, @{ Pattern = 'a[b' }, @{ Pattern = '[c-a]' }
    ) {
        param($Pattern)
        { 'x' -like $Pattern } | Should -Throw
        { Get-LlmTask -Name $Pattern -StorePath $script:nameStore -ErrorAction Stop } |
            Should -Throw -ErrorId 'LlmTaskInvalidWildcard,LlmTasks.PowerShell.Commands.GetLlmTaskCommand'
        { Stop-LlmTask -Name $Pattern -StorePath $script:nameStore -ErrorAction Stop } |
            Should -Throw -ErrorId 'LlmTaskInvalidWildcard,LlmTasks.PowerShell.Commands.StopLlmTaskCommand'
        $err = try { Get-LlmTask -Name $Pattern -StorePath $script:nameStore } catch { $_ }
        $err.CategoryInfo.Category | Should -Be 'InvalidArgument'
        $err.Exception.Message | Should -Match 'backtick'
        $err.Exception.Message | Should -BeLike "-Name '*"
        # the error names the parameter the pattern was given to
        $err = try { Get-LlmTask -Model $Pattern -StorePath $script:nameStore -ErrorAction Stop } catch { $_ }
        $err.FullyQualifiedErrorId | Should -BeLike 'LlmTaskInvalidWildcard,*'
        $err.Exception.Message | Should -BeLike "-Model '*"
        $err.Exception.Message | Should -Not -Match '-Name'
    }

    It 'an escaped name that matches nothing is reported as not found' {
        Get-LlmTask -Name '`[nothing`]' -StorePath $script:nameStore -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $err[0].FullyQualifiedErrorId | Should -BeLike 'LlmTaskNotFound,*'
        Get-LlmTask -Name '`[a`]' -StorePath $script:nameStore -ErrorVariable err2 -ErrorAction SilentlyContinue | Should -HaveCount 1
        $err2 | Should -BeNullOrEmpty
    }
}

Describe 'Folders the module creates, under a permissive umask' -Skip:$IsWindows {
    It 'makes every folder it creates 0700, from the first one down, and the file 0600; folders that existed stay as they were' {
        $existing = Join-Path $script:root 'existing'
        New-Item -ItemType Directory -Path $existing | Out-Null
        [System.IO.File]::SetUnixFileMode($existing, [System.IO.UnixFileMode]'UserRead, UserWrite, UserExecute, GroupRead, GroupExecute, OtherRead, OtherExecute')
        $store = Join-Path $existing 'first/second/third/tasks.db'
        # A real pwsh started under umask 000: its own New-Item shows that umask applies.
        $said = Invoke-Pwsh -Umask000 -Arguments $store, (Join-Path $script:root 'control') -Script @'
New-Item -ItemType Directory -Path $args[1] | Out-Null
(Get-Item $args[1]).UnixMode
(Start-LlmTask 'under umask 000' -Model mock/echo -StorePath $args[0] -Wait).State
'@
        $said | Should -Be @('drwxrwxrwx', 'Completed') -Because 'the child really ran under umask 000, so the test can fail'
        foreach ($folder in 'first', 'first/second', 'first/second/third') {
            (Get-Item (Join-Path $existing $folder)).UnixMode | Should -Be 'drwx------' -Because "$folder was created by the module"
        }
        (Get-Item $store).UnixMode | Should -Be '-rw-------'
        (Get-Item $existing).UnixMode | Should -Be 'drwxr-xr-x' -Because 'a folder that existed is left as it is'
    }
}

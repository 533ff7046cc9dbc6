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

    # 4 KB of random bytes (always the same ones) written into the middle of a file, as a failing disk would.
    function script:Set-Damage([string] $Path) {
        $garbage = [byte[]]::new(4096)
        [System.Random]::new(7).NextBytes($garbage)
        $stream = [System.IO.File]::OpenWrite($Path)
        try { $stream.Position = [long]($stream.Length / 2); $stream.Write($garbage, 0, $garbage.Length) } finally { $stream.Dispose() }
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

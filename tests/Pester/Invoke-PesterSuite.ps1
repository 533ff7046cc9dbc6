#Requires -Version 7.4
<#
.SYNOPSIS
    Runs one Pester file (or folder) of the cmdlet suite in this pwsh and writes a JSON summary.
.DESCRIPTION
    The xunit project tests/LlmTasks.PowerShell.Tests runs every *.Tests.ps1 file through this script in
    real pwsh, so `dotnet test Engine.sln` runs the Pester suite too. By hand, after a build:
        dotnet pwsh tests/Pester/Invoke-PesterSuite.ps1 -PesterManifest ~/.nuget/packages/pester/5.7.1/tools/Pester.psd1
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)] [string] $PesterManifest,
    [string[]] $Path = $PSScriptRoot,
    [string] $ResultPath
)

$ErrorActionPreference = 'Stop'
Import-Module $PesterManifest -Force
$config = New-PesterConfiguration
$config.Run.Path = $Path
$config.Run.PassThru = $true
$config.Output.Verbosity = 'Detailed'
$config.Output.RenderMode = 'Plaintext'
$result = Invoke-Pester -Configuration $config

$summary = [pscustomobject]@{
    Result           = "$($result.Result)"
    Passed           = $result.PassedCount
    Failed           = $result.FailedCount
    Skipped          = $result.SkippedCount
    NotRun           = $result.NotRunCount
    FailedBlocks     = @($result.FailedBlocks | ForEach-Object { "$($_.ExpandedPath): $($_.ErrorRecord -join '; ')" })
    FailedContainers = @($result.FailedContainers | ForEach-Object { "$($_.Item): $($_.ErrorRecord -join '; ')" })
    Tests            = @($result.Tests | ForEach-Object {
        [pscustomobject]@{ Name = $_.ExpandedPath; Result = "$($_.Result)"; Error = ($_.ErrorRecord | ForEach-Object { "$_`n$($_.ScriptStackTrace)" }) -join "`n" }
    })
}
if ($ResultPath) { $summary | ConvertTo-Json -Depth 4 | Set-Content -LiteralPath $ResultPath -Encoding utf8 }
if ($result.Result -ne 'Passed') { exit 1 }

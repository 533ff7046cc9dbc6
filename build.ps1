#Requires -Version 7.4
<#
.SYNOPSIS
    Builds, tests and packages LlmTasks (for machines with pwsh; the .NET SDK alone also works, see README).
.EXAMPLE
    ./build.ps1                  # build; the module lands in out/LlmTasks
    ./build.ps1 -Task Test       # xunit suites, then the Pester tests if Pester 5 is installed
    ./build.ps1 -Task Package    # out/LlmTasks-<version>.zip, ready to unpack into a PSModulePath folder
#>
[CmdletBinding()]
param(
    [ValidateSet('Build', 'Test', 'Package', 'Quickstart')]
    [string] $Task = 'Build',

    [ValidateSet('Debug', 'Release')]
    [string] $Configuration = 'Release'
)

$ErrorActionPreference = 'Stop'
Set-Location $PSScriptRoot

function Invoke-Dotnet {
    & dotnet @args
    if ($LASTEXITCODE -ne 0) { throw "dotnet $($args -join ' ') failed with exit code $LASTEXITCODE" }
}

switch ($Task) {
    'Build' {
        Invoke-Dotnet build Engine.sln -c $Configuration
    }
    'Test' {
        Invoke-Dotnet test Engine.sln -c $Configuration
        if (Get-Module -ListAvailable Pester | Where-Object Version -ge '5.0') {
            $result = Invoke-Pester -Path tests/Pester -PassThru -Output Detailed
            if ($result.FailedCount -gt 0) { throw "$($result.FailedCount) Pester test(s) failed" }
        }
        else {
            Write-Warning 'Pester 5 is not installed: skipped tests/Pester (Install-Module Pester -MinimumVersion 5.0).'
        }
    }
    'Package' {
        Invoke-Dotnet build Engine.sln -c $Configuration
        $version = (Import-PowerShellDataFile out/LlmTasks/LlmTasks.psd1).ModuleVersion
        $zip = "out/LlmTasks-$version.zip"
        Compress-Archive -Path out/LlmTasks -DestinationPath $zip -Force
        "Packaged $zip"
    }
    'Quickstart' {
        Invoke-Dotnet build Engine.sln -c $Configuration
        pwsh -NoProfile -File examples/quickstart.ps1
    }
}

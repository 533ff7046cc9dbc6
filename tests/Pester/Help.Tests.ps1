#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0' }
# The cmdlet help as users read it: Get-Help in real pwsh on the built module (the MAML that the build
# generates from docs/cmdlets/*.md and the compiled cmdlets). Every fact it states is compared with
# Get-Command's metadata, and every example's code is run against mock models in a fresh store.

BeforeDiscovery {
    $manifest = Join-Path $PSScriptRoot '../../out/LlmTasks/LlmTasks.psd1'
    $cmdlets = @((Import-PowerShellDataFile $manifest).CmdletsToExport | ForEach-Object { @{ Name = $_ } })
}

BeforeAll {
    $manifest = Join-Path $PSScriptRoot '../../out/LlmTasks/LlmTasks.psd1'
    Import-Module $manifest -Force
    $script:exported = (Import-PowerShellDataFile $manifest).CmdletsToExport
    $script:folder = Join-Path ([System.IO.Path]::GetTempPath()) "llmtasks-help-$([guid]::NewGuid())"
    New-Item -ItemType Directory -Path $script:folder | Out-Null
    $script:store = Join-Path $script:folder 'help.db'
    $PSDefaultParameterValues['*-Llm*:StorePath'] = $script:store
    $script:common = [System.Management.Automation.Cmdlet]::CommonParameters

    # The parameters a user sees in help: all but the common ones (-WhatIf and -Confirm are shown).
    function script:Get-UserParameter([string] $Name) {
        (Get-Command $Name).Parameters.Values | Where-Object Name -NotIn $script:common
    }

    function script:Get-HelpParameter([string] $Name) {
        @((Get-Help $Name -Full).parameters.parameter)
    }

    function script:Get-ParameterType([System.Management.Automation.ParameterMetadata] $Parameter) {
        $type = $Parameter.ParameterType
        $inner = [Nullable]::GetUnderlyingType($type)
        if ($inner) { $inner.FullName } else { $type.FullName }
    }

    function script:Format-PipelineInput([bool] $ByValue, [bool] $ByPropertyName) {
        if ($ByValue -and $ByPropertyName) { 'True (ByPropertyName, ByValue)' }
        elseif ($ByValue) { 'True (ByValue)' }
        elseif ($ByPropertyName) { 'True (ByPropertyName)' }
        else { 'False' }
    }

    function script:Format-Position([int] $Position) {
        if ($Position -eq [int]::MinValue) { 'named' } else { "$Position" }
    }
}

AfterAll {
    $PSDefaultParameterValues.Remove('*-Llm*:StorePath')
    Remove-Module LlmTasks -ErrorAction SilentlyContinue
    Remove-Item $script:folder -Recurse -Force -ErrorAction SilentlyContinue
}

Describe 'Get-Help <Name>' -ForEach $cmdlets {
    BeforeAll {
        $help = Get-Help $Name -Full
    }

    It 'comes from the MAML file, with a synopsis and a description' {
        $help.Synopsis | Should -Not -BeNullOrEmpty
        $help.Synopsis | Should -Not -Match '…'
        $help.Synopsis | Should -Not -BeLike "$Name *" # the generated stand-in is the syntax
        ($help.description.Text -join "`n").Trim() | Should -Not -BeNullOrEmpty
        $help.ModuleName | Should -Be 'LlmTasks'
    }

    It 'describes every parameter, and no parameter the cmdlet does not have' {
        $expected = @(Get-UserParameter $Name | ForEach-Object Name | Sort-Object)
        $described = Get-HelpParameter $Name
        @($described.name | Sort-Object) | Should -Be $expected
        foreach ($parameter in $described) {
            ($parameter.description.Text -join "`n").Trim() | Should -Not -BeNullOrEmpty -Because "-$($parameter.name) needs a description"
        }
    }

    It 'states the type, required, position, pipeline input, wildcards and aliases Get-Command has' {
        $described = Get-HelpParameter $Name
        foreach ($parameter in Get-UserParameter $Name) {
            $sets = @($parameter.ParameterSets.Values)
            $positions = @($sets.Position | Sort-Object -Unique)
            $shown = $described | Where-Object name -EQ $parameter.Name
            $because = "of -$($parameter.Name)"
            $shown.type.name | Should -Be (Get-ParameterType $parameter) -Because $because
            $shown.required | Should -Be ([string](@($sets | Where-Object { -not $_.IsMandatory }).Count -eq 0)).ToLowerInvariant() -Because $because
            $shown.position | Should -Be $(if ($positions.Count -eq 1) { Format-Position $positions[0] } else { 'named' }) -Because $because
            $shown.pipelineInput | Should -Be (Format-PipelineInput ([bool]($sets | Where-Object ValueFromPipeline)) ([bool]($sets | Where-Object ValueFromPipelineByPropertyName))) -Because $because
            $wildcards = [bool]($parameter.Attributes | Where-Object { $_ -is [System.Management.Automation.SupportsWildcardsAttribute] })
            $shown.globbing | Should -Be ([string]$wildcards).ToLowerInvariant() -Because $because
            $aliases = if ($shown.aliases -eq 'none') { @() } else { @($shown.aliases -split ', ') }
            @($aliases | Sort-Object) | Should -Be @($parameter.Aliases | Sort-Object) -Because $because
        }
    }

    It 'has one syntax per parameter set, with the parameters, required and positions of that set' {
        $command = Get-Command $Name
        $syntax = @($help.syntax.syntaxItem)
        $syntax | Should -HaveCount $command.ParameterSets.Count
        foreach ($set in $command.ParameterSets) {
            $parameters = @($set.Parameters | Where-Object Name -NotIn $script:common)
            $names = ($parameters.Name | Sort-Object) -join ','
            $item = $syntax | Where-Object { (@($_.parameter.name) | Sort-Object) -join ',' -eq $names }
            $item | Should -HaveCount 1 -Because "the parameter set $($set.Name) ($names) needs its syntax"
            foreach ($parameter in $parameters) {
                $shown = $item.parameter | Where-Object name -EQ $parameter.Name
                $shown.required | Should -Be ([string]$parameter.IsMandatory).ToLowerInvariant() -Because "-$($parameter.Name) in $($set.Name)"
                $shown.position | Should -Be (Format-Position $parameter.Position) -Because "-$($parameter.Name) in $($set.Name)"
            }
        }
    }

    It 'names the default of every parameter that has one' {
        $instance = (Get-Command $Name).ImplementingType::new()
        try {
            foreach ($shown in Get-HelpParameter $Name) {
                $property = $instance.GetType().GetProperty($shown.name)
                $value = if ($property) { $property.GetValue($instance) }
                # A value a user would not get by leaving the parameter out (null, empty, 0, false, default(T)) needs no mention.
                $meaningful = $null -ne $value -and $value -isnot [System.Management.Automation.SwitchParameter] -and
                    $value -isnot [array] -and "$value" -ne '' -and
                    -not ($value.GetType().IsValueType -and $value -eq [Activator]::CreateInstance($value.GetType()))
                if ($meaningful) {
                    $shown.defaultValue | Should -BeLike "*$value*" -Because "-$($shown.name) starts as $value"
                }
                else {
                    $shown.defaultValue | Should -Not -BeNullOrEmpty
                }
            }
        }
        finally {
            if ($instance -is [System.IDisposable]) { $instance.Dispose() } # Get-LlmModel holds nothing
        }
    }

    It 'has at least two examples, each with code and a title' {
        $examples = @($help.examples.example)
        $examples.Count | Should -BeGreaterOrEqual 2
        foreach ($example in $examples) {
            $example.title | Should -Match 'Example \d+: \S'
            $example.code.Trim() | Should -Not -BeNullOrEmpty
        }
    }

    It 'lists related links: other LlmTasks cmdlets and about_LlmTasks' {
        $links = @($help.relatedLinks.navigationLink.linkText)
        $links | Should -Contain 'about_LlmTasks'
        @($links | Where-Object { $_ -in $script:exported -and $_ -ne $Name }).Count | Should -BeGreaterThan 0
        foreach ($link in $links | Where-Object { $_ -like '*-Llm*' }) {
            $link | Should -BeIn $script:exported
        }
    }

    It 'names its input and output types' {
        @($help.inputTypes.inputType.type.name).Count | Should -BeGreaterThan 0
        $outputs = @($help.returnValues.returnValue.type.name)
        foreach ($type in (Get-Command $Name).OutputType.Name) {
            $outputs | Should -Contain $(if ($type -eq 'System.Void') { 'None' } else { $type })
        }
    }

    It 'shows the examples with Get-Help -Examples' {
        $text = Get-Help $Name -Examples | Out-String -Width 250
        foreach ($example in @($help.examples.example)) {
            $text.Contains($example.title.Trim('- ')) | Should -BeTrue -Because "the title '$($example.title)' is shown"
            $firstLine = ($example.code -split "`n")[0].Trim()
            $text.Contains($firstLine) | Should -BeTrue -Because "the code '$firstLine' is shown"
        }
    }

    It 'shows each parameter with Get-Help -Parameter' {
        foreach ($parameter in Get-UserParameter $Name) {
            $shown = Get-Help $Name -Parameter $parameter.Name
            $shown.name | Should -Be $parameter.Name
            ($shown | Out-String) | Should -BeLike "*-$($parameter.Name)*"
        }
    }

    It 'has examples that run offline without errors, each in a fresh store' {
        $number = 0
        foreach ($example in @($help.examples.example)) {
            $number++
            $exampleStore = Join-Path $script:folder "$Name-$number.db"
            $defaults = $PSDefaultParameterValues.Clone()
            $PSDefaultParameterValues['*-Llm*:StorePath'] = $exampleStore
            $code = [scriptblock]::Create($example.code)
            try {
                Push-Location $script:folder
                { $ErrorActionPreference = 'Stop'; & $code | Out-Null } | Should -Not -Throw -Because "'$($example.title.Trim('- '))' must run"
            }
            finally {
                Pop-Location
                Get-LlmTask -State Pending, Running -StorePath $exampleStore -ErrorAction SilentlyContinue | Stop-LlmTask -ErrorAction SilentlyContinue
                $PSDefaultParameterValues.Clear()
                foreach ($key in $defaults.Keys) { $PSDefaultParameterValues[$key] = $defaults[$key] }
            }
        }
    }
}

Describe 'Get-Help with wildcards' {
    It 'lists every exported cmdlet with its synopsis for Get-Help *-Llm*' {
        $found = Get-Help *-Llm* | Where-Object ModuleName -EQ 'LlmTasks'
        @($found.Name | Sort-Object) | Should -Be @($script:exported | Sort-Object)
        foreach ($item in $found) {
            $item.Synopsis | Should -Not -BeNullOrEmpty
            $item.Synopsis | Should -Not -Match '…'
            $item.Synopsis | Should -Be (Get-Help $item.Name).Synopsis
        }
    }

    It 'lists the *LlmTask* cmdlets and about_LlmTasks for Get-Help *LlmTask*' {
        $found = Get-Help *LlmTask*
        @($found | Where-Object Category -EQ 'Cmdlet' | ForEach-Object Name | Sort-Object) |
            Should -Be @($script:exported | Where-Object { $_ -like '*LlmTask*' } | Sort-Object)
        ($found | Where-Object Category -EQ 'Cmdlet').Synopsis | Should -Not -Match '…'
        $found.Name | Should -Contain 'about_LlmTasks'
    }
}

Describe 'Parameters that accept wildcards' {
    It 'select tasks by pattern wherever help says wildcards are accepted' {
        $declared = foreach ($name in $script:exported) {
            foreach ($parameter in Get-UserParameter $name) {
                if ($parameter.Attributes | Where-Object { $_ -is [System.Management.Automation.SupportsWildcardsAttribute] }) {
                    [pscustomobject]@{ Command = $name; Parameter = $parameter.Name }
                }
            }
        }

        $declared | Should -Not -BeNullOrEmpty
        # Invoke-LlmTaskWorker runs until stopped and takes only left-over work (none of this session's
        # tasks): its -Name and -Model wildcards are tested in WhoRunsTasks.Tests.ps1. Get-LlmModel and
        # Get-LlmRateLimit select models and limits, not tasks: their wildcards are tested in Models.Tests.ps1
        # and RateLimits.Tests.ps1.
        foreach ($entry in $declared | Where-Object Command -notin 'Invoke-LlmTaskWorker', 'Get-LlmModel', 'Get-LlmRateLimit') {
            $prefix = "wild$([guid]::NewGuid().ToString('n').Substring(0, 8))"
            $task = Start-LlmTask 'x' -Model "mock/echo" -Name "$prefix-task" -Wait
            $pattern = if ($entry.Parameter -eq 'Model') { 'mock/ec*' } else { "$prefix-*" }
            $arguments = @{ $entry.Parameter = $pattern; ErrorAction = 'SilentlyContinue'; ErrorVariable = 'problems' }
            $parameters = (Get-Command $entry.Command).Parameters
            if ($parameters.ContainsKey('Confirm')) { $arguments.Confirm = $false }
            if ($parameters.ContainsKey('PassThru')) { $arguments.PassThru = $true }
            $output = & $entry.Command @arguments
            # The task was selected when it was written, named in an error (say, "not in review"), or changed.
            $named = @($output | Where-Object { $_.Id -eq $task.Id -or $_.TaskId -eq $task.Id }) +
                @($problems | Where-Object { $_.TargetObject.Id -eq $task.Id -or $_.TargetObject -eq $task.Id })
            $now = Get-LlmTask -Id $task.Id -ErrorAction SilentlyContinue
            $changed = $null -eq $now -or $now.State -ne $task.State -or $now.Attempts -ne $task.Attempts
            ($named.Count -gt 0 -or $changed) | Should -BeTrue -Because "$($entry.Command) -$($entry.Parameter) '$pattern' should select the task named $prefix-task"
            @($problems | Where-Object FullyQualifiedErrorId -Like 'LlmTaskNotFound*') | Should -BeNullOrEmpty
        }
    }
}

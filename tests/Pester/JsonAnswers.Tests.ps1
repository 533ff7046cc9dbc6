#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0' }
# Answers asked for as JSON (-ResponseFormat Json, -JsonSchema), as Receive-LlmTask writes them: the same
# values ConvertFrom-Json gives for the same text, so scripts compare, sort, sum and re-serialize them alike.

BeforeAll {
    $manifest = Join-Path $PSScriptRoot '../../out/LlmTasks/LlmTasks.psd1'
    Import-Module $manifest -Force
    $script:store = Join-Path ([System.IO.Path]::GetTempPath()) "llmtasks-json-$([guid]::NewGuid()).db"
    $PSDefaultParameterValues['*-Llm*:StorePath'] = $script:store
}

AfterAll {
    $PSDefaultParameterValues.Remove('*-Llm*:StorePath')
    Remove-Module LlmTasks -ErrorAction SilentlyContinue
    Remove-Item "$script:store*" -ErrorAction SilentlyContinue
}

Describe 'Receive-LlmTask of a JSON answer' {
    It 'gives every value the type ConvertFrom-Json gives it: integers stay integers' {
        $json = '{"count": 3, "big": 12345678901, "huge": 123456789012345678901234, "ratio": 0.5, "exp": 2e3, "neg": -7, "name": "x", "ok": true, "none": null, "list": [1, 2.5, "three"]}'
        $answer = Start-LlmTask 'Count them.' -Model mock/echo -ResponseFormat Json -MockResponse $json -Wait | Receive-LlmTask
        $expected = $json | ConvertFrom-Json

        foreach ($property in $expected.PSObject.Properties) {
            $got = $answer.($property.Name)
            if ($null -eq $property.Value) {
                $got | Should -BeNullOrEmpty -Because $property.Name
                continue
            }

            $got.GetType() | Should -Be $property.Value.GetType() -Because "$($property.Name) is $($property.Value.GetType().Name) in ConvertFrom-Json"
            $got | Should -Be $property.Value -Because $property.Name
        }

        @($answer.list | ForEach-Object { $_.GetType().Name }) | Should -Be @($expected.list | ForEach-Object { $_.GetType().Name })
        $answer.count | Should -BeOfType [long]
    }

    It 'writes integers back as integers with ConvertTo-Json, and shows them without decimals' {
        $answer = Start-LlmTask 'Give the totals.' -Model mock/echo -ResponseFormat Json -MockResponse '{"total": 42, "items": [1, 2]}' -Wait | Receive-LlmTask
        $answer | Select-Object total, items | ConvertTo-Json -Compress | Should -Be '{"total":42,"items":[1,2]}'
        ($answer | Format-Table total | Out-String) | Should -Match '(?m)^\s*42\s*$'
        ($answer.items | Measure-Object -Sum).Sum | Should -Be 3
    }

    It 'gives the same values for an answer shaped by -JsonSchema' {
        $schema = @{ type = 'object'; properties = @{ year = @{ type = 'integer' } }; required = @('year') }
        $answer = Start-LlmTask 'When?' -Model mock/echo -JsonSchema $schema -MockResponse '{"year": 1969}' -Wait | Receive-LlmTask
        $answer.year | Should -BeOfType [long]
        "$($answer.year)" | Should -Be '1969'
    }
}

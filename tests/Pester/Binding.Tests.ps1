#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0' }
# Start-LlmTask's pipeline binding as users pipe into it: Import-Csv rows, ConvertFrom-Json objects,
# [pscustomobject]s, hashtables, Select-Object output and deserialized objects bind by property name;
# strings are prompts; anything else is refused, never sent as "@{Prompt=…}" or "LlmTask 1 (Completed)".
# And -Continue: the next turn of a finished task's conversation in one pipeline.

BeforeAll {
    $manifest = Join-Path $PSScriptRoot '../../out/LlmTasks/LlmTasks.psd1'
    Import-Module $manifest -Force
    $script:store = Join-Path ([System.IO.Path]::GetTempPath()) "llmtasks-pester-binding-$([guid]::NewGuid()).db"
    $PSDefaultParameterValues['*-Llm*:StorePath'] = $script:store
    $script:startId = 'LlmTasks.PowerShell.Commands.StartLlmTaskCommand'

    # Every task in the store, to prove a refused input stored nothing.
    function Get-TaskCount { @(Get-LlmTask).Count }
}

AfterAll {
    Remove-Module LlmTasks -ErrorAction SilentlyContinue
    Remove-Item "$script:store*" -ErrorAction SilentlyContinue
}

Describe 'Start-LlmTask binds piped objects by property name' {
    It 'starts one task per Import-Csv row with its Prompt, Model, Name, System and options; an empty cell is not given' {
        $path = Join-Path $TestDrive 'prompts.csv'
        @'
Prompt,Model,Name,System,Temperature,MaxTokens,TimeoutSec
What is 2+2?,mock/echo,csv-a,Be brief.,0.2,50,30
Name a prime.,mock/delay:10,csv-b,,,,
'@ | Set-Content -LiteralPath $path
        $tasks = Import-Csv -LiteralPath $path | Start-LlmTask -Wait

        $tasks | Should -HaveCount 2
        $tasks.Output | Should -Be 'What is 2+2?', 'Name a prime.' # the echo of the prompt, not of '@{Prompt=…}'
        $tasks.Model | Should -Be 'mock/echo', 'mock/delay:10'
        $tasks.Name | Should -Be 'csv-a', 'csv-b'
        $first = $tasks[0].Request
        $first.Temperature | Should -Be 0.2
        $first.MaxTokens | Should -Be 50
        $first.TimeoutSec | Should -Be 30
        $first.Messages[0].Role | Should -Be 'System'
        $first.Messages[0].Content | Should -Be 'Be brief.'
        $second = $tasks[1].Request
        $second.Temperature | Should -BeNullOrEmpty
        $second.MaxTokens | Should -BeNullOrEmpty
        $second.Messages | Should -HaveCount 1
    }

    It 'lets the command line win over a column, as PowerShell binding does' {
        $rows = [pscustomobject]@{ Prompt = 'a'; Model = 'nope/x' }, [pscustomobject]@{ Prompt = 'b'; Model = 'nope/y' }
        $tasks = $rows | Start-LlmTask -Model mock/echo -Name cmdline-wins -Wait
        $tasks.Model | Should -Be 'mock/echo', 'mock/echo'
        $tasks.Output | Should -Be 'a', 'b'
    }

    It 'binds ConvertFrom-Json objects (JSON lines), Messages as objects included' {
        $lines = @(
            '{"prompt": "one", "model": "mock/echo", "name": "jsonl"}'
            '{"model": "mock/echo", "name": "jsonl", "temperature": 0.5, "messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}, {"role": "user", "content": "two"}]}'
        )
        $tasks = $lines | ConvertFrom-Json | Start-LlmTask -Wait
        $tasks.Output | Should -Be 'one', 'two'
        $tasks[1].Request.Messages.Role | Should -Be 'User', 'Assistant', 'User'
        $tasks[1].Request.Temperature | Should -Be 0.5
    }

    It 'takes -Messages as PSCustomObjects from ConvertFrom-Json as well as hashtables' {
        $conversation = '[{"role":"system","content":"terse"},{"role":"user","content":"My name is Ada."},{"role":"assistant","content":"Hi Ada."},{"role":"user","content":"Who am I?"}]' | ConvertFrom-Json
        $task = Start-LlmTask -Messages $conversation -Model mock/echo -Wait
        $task.Output | Should -Be 'Who am I?'
        ($task.Request.Messages | ForEach-Object { "$($_.Role):$($_.Content)" }) | Should -Be 'System:terse', 'User:My name is Ada.', 'Assistant:Hi Ada.', 'User:Who am I?'
    }

    It 'takes -Messages as the conversation so far, with each piped prompt as its last turn' {
        $fewShot = @(
            @{ role = 'user'; content = 'apple' }
            @{ role = 'assistant'; content = 'fruit' }
        )
        $tasks = 'carrot', 'salmon' | Start-LlmTask -Messages $fewShot -Model mock/echo -Wait
        $tasks.Output | Should -Be 'carrot', 'salmon'
        ($tasks[1].Request.Messages | ForEach-Object Content) | Should -Be 'apple', 'fruit', 'salmon'
    }

    It 'binds [pscustomobject]s and hashtables alike' {
        $tasks = [pscustomobject]@{ Prompt = 'from an object'; Model = 'mock/echo'; Name = 'bags' },
            @{ prompt = 'from a hashtable'; model = 'mock/echo'; name = 'bags'; maxtokens = '7' } | Start-LlmTask -Wait
        $tasks.Output | Should -Be 'from an object', 'from a hashtable'
        $tasks.Name | Should -Be 'bags', 'bags'
        $tasks[1].Request.MaxTokens | Should -Be 7
    }

    It 'binds Select-Object output of earlier tasks (running their prompts again) and deserialized rows' {
        $source = 'p1', 'p2' | Start-LlmTask -Model mock/echo -Name sel-source -Wait
        $again = $source | Select-Object Prompt, Model | Start-LlmTask -Name sel-again -Wait
        $again.Output | Should -Be 'p1', 'p2'

        $path = Join-Path $TestDrive 'rows.xml'
        [pscustomobject]@{ Prompt = 'round trip'; Model = 'mock/echo' } | Export-Clixml -LiteralPath $path
        (Import-Clixml -LiteralPath $path | Start-LlmTask -Wait).Output | Should -Be 'round trip'
    }

    It 'runs a stored request again when a task''s Request is piped' {
        $first = Start-LlmTask -Messages @{ role = 'user'; content = 'q1' }, @{ role = 'assistant'; content = 'a1' }, @{ role = 'user'; content = 'q2' } `
            -System 'terse' -Model mock/echo -Temperature 0.3 -Wait
        $again = $first.Request | Start-LlmTask -Wait
        ($again.Request.Messages | ForEach-Object { "$($_.Role):$($_.Content)" }) | Should -Be 'System:terse', 'User:q1', 'Assistant:a1', 'User:q2'
        $again.Request.Temperature | Should -Be 0.3
        $again.Output | Should -Be 'q2'
    }

    It 'still takes strings and scalars as prompts, Receive-LlmTask answers included' {
        $tasks = 'text', 42, 2.5 | Start-LlmTask -Model mock/echo -Wait
        $tasks.Output | Should -Be 'text', '42', '2.5'
        $chained = $tasks[0] | Receive-LlmTask | Start-LlmTask -Model mock/echo -Wait
        $chained.Prompt | Should -Be 'text'
    }

    It 'takes an array for -Prompt: one task each' {
        $tasks = Start-LlmTask -Prompt 'x', 'y', 'z' -Model mock/echo -Wait
        $tasks.Output | Should -Be 'x', 'y', 'z'
    }

    It 'refuses an object without a Prompt with LlmTaskInputHasNoPrompt, sends nothing, and goes on with the next' {
        $before = Get-TaskCount
        $started = [pscustomobject]@{ Question = 'x' }, 'fine', (Get-Item -LiteralPath $PSHOME) |
            Start-LlmTask -Model mock/echo -ErrorVariable err -ErrorAction SilentlyContinue
        $started.Prompt | Should -Be 'fine'
        $err | Should -HaveCount 2
        $err[0].FullyQualifiedErrorId | Should -Be "LlmTaskInputHasNoPrompt,$script:startId"
        $err[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
        $err[0].Exception.Message | Should -Match 'Question'
        $err[1].FullyQualifiedErrorId | Should -Be "LlmTaskInputHasNoPrompt,$script:startId"
        Get-TaskCount | Should -Be ($before + 1)
    }

    It 'points a piped message at -Messages' {
        @{ role = 'user'; content = 'hi' } | Start-LlmTask -Model mock/echo -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -Be "LlmTaskInputHasNoPrompt,$script:startId"
        $err[0].Exception.Message | Should -Match '-Messages'
    }

    It 'refuses a piped task without -Continue (LlmTaskInputIsTask), live or deserialized' {
        $task = Start-LlmTask 'original' -Model mock/echo -Wait
        $path = Join-Path $TestDrive 'task.xml'
        $task | Export-Clixml -LiteralPath $path
        $before = Get-TaskCount
        $task, (Import-Clixml -LiteralPath $path) | Start-LlmTask -Model mock/echo -ErrorVariable err -ErrorAction SilentlyContinue
        $err | Should -HaveCount 2
        $err.FullyQualifiedErrorId | Should -Be "LlmTaskInputIsTask,$script:startId", "LlmTaskInputIsTask,$script:startId"
        $err[0].Exception.Message | Should -Match '-Continue'
        Get-TaskCount | Should -Be $before
    }

    It 'refuses an object given to -Prompt instead of sending its type name' {
        $task = Start-LlmTask 'original' -Model mock/echo -Wait
        $before = Get-TaskCount
        { Start-LlmTask -Prompt $task -Model mock/echo -ErrorAction Stop } | Should -Throw '*-Prompt takes text*-Continue*'
        { Start-LlmTask -Prompt (Get-Item -LiteralPath $PSHOME) -Model mock/echo -ErrorAction Stop } | Should -Throw '*Get-Content -Raw*'
        Get-TaskCount | Should -Be $before
    }

    It 'refuses a row with a value that does not convert (LlmTaskInvalidInput) instead of dropping the option, for that row only' {
        $before = Get-TaskCount
        $tasks = [pscustomobject]@{ Prompt = 'hot'; Model = 'mock/echo'; Temperature = 'very' },
            [pscustomobject]@{ Prompt = 'ok'; Model = 'mock/echo' },
            [pscustomobject]@{ Prompt = 'xml'; Model = 'mock/echo'; ResponseFormat = 'Xml' },
            @{ Prompt = 'bad key'; Model = 'mock/echo'; MaxTokens = 'many' } |
            Start-LlmTask -Wait -ErrorVariable err -ErrorAction SilentlyContinue
        $tasks.Output | Should -Be 'ok'
        $err | Should -HaveCount 3
        # A value outside -ResponseFormat's set is PowerShell's own validation error; the others would be dropped silently.
        $err.FullyQualifiedErrorId | Should -Be "LlmTaskInvalidInput,$script:startId", "ParameterArgumentValidationError,$script:startId", "LlmTaskInvalidInput,$script:startId"
        $err[0].Exception.Message | Should -Match 'Temperature'
        $err[2].Exception.Message | Should -Match 'MaxTokens'
        Get-TaskCount | Should -Be ($before + 1)
    }

    It 'refuses piped text with -Prompt, and no prompt at all, each with its own id' {
        'piped' | Start-LlmTask -Prompt 'given' -Model mock/echo -ErrorVariable twice -ErrorAction SilentlyContinue
        $twice[0].FullyQualifiedErrorId | Should -Be "LlmTaskPromptGivenTwice,$script:startId"
        Start-LlmTask -Model mock/echo -ErrorVariable none -ErrorAction SilentlyContinue
        $none[0].FullyQualifiedErrorId | Should -Be "LlmTaskNoPrompt,$script:startId"
        $none[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
    }

    It 'never takes -ApiKey from a piped object' {
        (Get-Command Start-LlmTask).Parameters['ApiKey'].Attributes.ValueFromPipelineByPropertyName | Should -Not -Contain $true
        $saved = $env:OPENAI_API_KEY
        try {
            $env:OPENAI_API_KEY = $null
            $task = [pscustomobject]@{ Prompt = 'x'; Model = 'openai/gpt-4o-mini'; ApiKey = 'sk-from-a-row' } | Start-LlmTask -Wait
            $task.State | Should -Be 'Failed'
            $task.Error | Should -Match 'OPENAI_API_KEY' # no key: the row's ApiKey column was not used
        }
        finally {
            $env:OPENAI_API_KEY = $saved
        }
    }
}

Describe 'Start-LlmTask reads piped objects itself, and never looks at a piped string''s properties' {
    # PowerShell's by-property-name binding looks every such parameter up on every piped record, strings
    # included; Start-LlmTask reads only what is not text, and each property of it once.
    BeforeAll {
        $script:reads = [System.Collections.Generic.List[string]]::new()
        function New-CountingString([string] $Text) {
            $value = [psobject]$Text
            foreach ($name in 'Prompt', 'Model', 'Name', 'System', 'Temperature', 'MaxTokens', 'StopSequence', 'Stop', 'ResponseFormat', 'ApiBase', 'MaxTurns') {
                $value | Add-Member -MemberType ScriptProperty -Name $name -Value ([scriptblock]::Create("`$script:reads.Add('$name'); `$null"))
            }
            $value
        }
    }

    It 'takes a piped string as its prompt without reading any of its properties' {
        $script:reads.Clear()
        $tasks = (New-CountingString 'first'), (New-CountingString 'second') | Start-LlmTask -Model mock/echo -Wait
        $tasks.Output | Should -Be 'first', 'second'
        $script:reads | Should -BeNullOrEmpty
    }

    It 'reads each property of a piped object once' {
        $script:reads.Clear()
        $row = [pscustomobject]@{ Prompt = 'counted'; Model = 'mock/echo' }
        $row | Add-Member -MemberType ScriptProperty -Name Temperature -Value { $script:reads.Add('Temperature'); '0.5' }
        $task = $row | Start-LlmTask -Wait
        $task.Request.Temperature | Should -Be 0.5
        @($script:reads) | Should -Be @('Temperature')
    }

    It 'prefers a parameter''s name over its alias, as PowerShell does' {
        $task = [pscustomobject]@{ Prompt = 'p'; Model = 'mock/echo'; Stop = 'alias'; StopSequence = 'name' } | Start-LlmTask -Wait
        $task.Request.StopSequences | Should -Be 'name'
        $task = @{ Prompt = 'p'; Model = 'mock/echo'; stop = 'alias only' } | Start-LlmTask -Wait
        $task.Request.StopSequences | Should -Be 'alias only'
    }

    It 'refuses a hashtable''s value outside a parameter''s set as an object''s, with PowerShell''s id' {
        @{ Prompt = 'p'; Model = 'mock/echo'; ResponseFormat = 'Xml' }, [pscustomobject]@{ Prompt = 'p'; Model = 'mock/echo'; ResponseFormat = 'Xml' } |
            Start-LlmTask -ErrorVariable err -ErrorAction SilentlyContinue
        $err | Should -HaveCount 2
        $err.FullyQualifiedErrorId | Should -Be "ParameterArgumentValidationError,$script:startId", "ParameterArgumentValidationError,$script:startId"
        $err[0].CategoryInfo.Category | Should -Be 'InvalidData'
        $err[0].Exception.Message | Should -Match 'ResponseFormat.*Text, Json'
    }

    It 'binds from -InputObject given on the command line as from the pipeline' {
        $task = Start-LlmTask -InputObject ([pscustomobject]@{ Prompt = 'given'; Model = 'mock/echo'; Name = 'inputobject' }) -Wait
        $task.Output | Should -Be 'given'
        $task.Name | Should -Be 'inputobject'
    }
}

Describe 'Start-LlmTask -Continue' {
    It 'continues a finished conversation in one pipeline, with its model, system prompt and options' {
        $first = Start-LlmTask 'Say hello.' -System 'Be brief.' -Model mock/echo -Temperature 0.4 -Name chat -Wait
        $next = Get-LlmTask $first.Id | Start-LlmTask -Prompt 'Now in French.' -Continue -Wait

        $next.Id | Should -Not -Be $first.Id
        $next.State | Should -Be 'Completed'
        $next.Output | Should -Be 'Now in French.'
        $next.Model | Should -Be 'mock/echo'
        $next.Name | Should -Be 'chat'
        $next.Request.Temperature | Should -Be 0.4
        ($next.Request.Messages | ForEach-Object { "$($_.Role):$($_.Content)" }) |
            Should -Be 'System:Be brief.', 'User:Say hello.', 'Assistant:Say hello.', 'User:Now in French.'
    }

    It 'uses what the command line gives instead: model, system prompt, name' {
        $first = Start-LlmTask 'q1' -System 'old' -Model mock/echo -Wait
        $next = $first | Start-LlmTask -Continue -Prompt 'q2' -Model mock/delay:5 -System 'new' -Name renamed -Wait
        $next.Model | Should -Be 'mock/delay:5'
        $next.Name | Should -Be 'renamed'
        ($next.Request.Messages | ForEach-Object { "$($_.Role):$($_.Content)" }) | Should -Be 'System:new', 'User:q1', 'Assistant:q1', 'User:q2'
    }

    It 'continues deserialized tasks and exported rows, one task per -Prompt' {
        $first = Start-LlmTask 'base' -Model mock/echo -Wait
        $xml = Join-Path $TestDrive 'continue.xml'
        $first | Export-Clixml -LiteralPath $xml
        $csv = Join-Path $TestDrive 'continue.csv'
        $first | Export-Csv -LiteralPath $csv
        $fromXml = Import-Clixml -LiteralPath $xml | Start-LlmTask -Continue -Prompt 'a', 'b' -Wait
        $fromXml.Output | Should -Be 'a', 'b'
        $fromCsv = Import-Csv -LiteralPath $csv | Start-LlmTask -Continue -Prompt 'c' -Wait
        ($fromCsv.Request.Messages | ForEach-Object Content) | Should -Be 'base', 'base', 'c'
    }

    It 'refuses a task that did not complete with LlmTaskNotContinuable' {
        $failed = Start-LlmTask 'x' -Model mock/fail -Wait
        $running = Start-LlmTask 'y' -Model mock/delay:30000
        try {
            $before = Get-TaskCount
            $failed, $running | Start-LlmTask -Continue -Prompt 'more' -ErrorVariable err -ErrorAction SilentlyContinue
            $err | Should -HaveCount 2
            $err.FullyQualifiedErrorId | Should -Be "LlmTaskNotContinuable,$script:startId", "LlmTaskNotContinuable,$script:startId"
            $err[0].CategoryInfo.Category | Should -Be 'InvalidOperation'
            $err[1].Exception.Message | Should -Match 'Wait-LlmTask'
            Get-TaskCount | Should -Be $before
        }
        finally {
            $running | Stop-LlmTask
        }
    }

    It 'needs a piped task and a prompt' {
        'text' | Start-LlmTask -Continue -Prompt 'x' -Model mock/echo -ErrorVariable notTask -ErrorAction SilentlyContinue
        $notTask[0].FullyQualifiedErrorId | Should -Be "LlmTaskContinueNeedsTask,$script:startId"
        Start-LlmTask -Continue -Prompt 'x' -Model mock/echo -ErrorVariable nothing -ErrorAction SilentlyContinue
        $nothing[0].FullyQualifiedErrorId | Should -Be "LlmTaskContinueNeedsTask,$script:startId"
        $done = Start-LlmTask 'q' -Model mock/echo -Wait
        $done | Start-LlmTask -Continue -ErrorVariable noPrompt -ErrorAction SilentlyContinue
        $noPrompt[0].FullyQualifiedErrorId | Should -Be "LlmTaskNoPrompt,$script:startId"
    }

    It 'asks again for the key of a task started with its own -ApiKey' {
        $keyed = Start-LlmTask 'q' -Model mock/echo -MockResponse 'answer' -ApiKey 'not-a-real-key' -Wait
        $keyed | Start-LlmTask -Continue -Prompt 'more' -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -Be "LlmTaskMissingApiKey,$script:startId"
        ($keyed | Start-LlmTask -Continue -Prompt 'more' -ApiKey 'not-a-real-key' -Wait).State | Should -Be 'Completed'
    }

    It 'does not carry -Verify over to the next turn, and takes a new one' {
        $checked = Start-LlmTask 'q' -Model mock/echo -Verify @{ Type = 'Contains'; Text = 'q' } -Wait
        $free = $checked | Start-LlmTask -Continue -Prompt 'no q here' -Wait
        $free.State | Should -Be 'Completed'
        $free.Checks | Should -BeNullOrEmpty
        $held = $checked | Start-LlmTask -Continue -Prompt 'still none' -Verify @{ Type = 'Contains'; Text = 'zzz' } -Wait
        $held.State | Should -Be 'NeedsReview'
    }
}

# The seed's eight verification cases as LlmTasks calls.
# By default every case answers offline (mock answers), so this runs anywhere. Set
# $env:LLMTASKS_SEED_LIVE = 1 and $env:LLMTASKS_DEFAULT_MODEL to run them against a real provider, with
# $env:LLMTASKS_MAX_MODEL (a max/* model: the Claude Code CLI with the filesystem MCP server) for case 5
# and $env:LLMTASKS_OPENAI_COMPAT_MODEL (e.g. ollama/llama3.2) for case 7. The test suite runs them
# both ways: offline, and live against loopback endpoints with the real CLI (SeedCasesLiveTests).
# Uses only core cmdlets and the language.
# -WorkFolder is where case 5's file is written (default: a new temp folder, deleted afterwards);
# $env:LLMTASKS_SEED_MCP_SERVER may name the filesystem server's entry script (run with node) instead of npx.
param([string] $StorePath, [string] $WorkFolder)

if ($StorePath) { $PSDefaultParameterValues['*-Llm*:StorePath'] = $StorePath }
$live = $env:LLMTASKS_SEED_LIVE -eq '1'
$model = if ($live -and $env:LLMTASKS_DEFAULT_MODEL) { $env:LLMTASKS_DEFAULT_MODEL } else { 'mock/echo' }
function Mock([string[]] $answers) {
    if ($live) { @{} } else { @{ MockResponse = $answers } }   # several answers need -Model mock/sequence
}

$results = [ordered]@{}

# 1. Simple question: not empty.
$a = Mock 'Paris is the capital of France.'
$results['1 simple question'] = Start-LlmTask 'What is the capital of France?' -Model $model @a -Verify @{ Type = 'NotEmpty' } -Wait

# 2. Messages format.
$messages = @(@{ role = 'user'; content = 'My name is Ada.' }, @{ role = 'assistant'; content = 'Hello Ada.' }, @{ role = 'user'; content = 'What is my name?' })
$a = Mock 'Your name is Ada.'
$results['2 messages'] = Start-LlmTask -Messages $messages -Model $model @a -Verify @{ Type = 'Contains'; Text = 'Ada' } -Wait

# 3. With a system prompt.
$a = Mock 'Bonjour.'
$results['3 system prompt'] = Start-LlmTask 'Say hello.' -System 'Always answer in French, one word.' -Model $model @a `
    -Verify @{ Type = 'Length'; Words = $true; Max = 3 } -Wait

# 4. Code generation with a Judge check (the judge answers offline unless live).
$judge = @{ Type = 'Judge'; Model = $model; Criteria = 'The code is a PowerShell function that adds two numbers.' }
if (-not $live) { $judge.MockResponse = '{"passed": true, "reasoning": "It defines Add-Numbers returning $a + $b."}' }
$a = Mock "``````powershell`nfunction Add-Numbers(`$a, `$b) { `$a + `$b }`n``````"
$results['4 code + judge'] = Start-LlmTask 'Write a PowerShell function Add-Numbers that adds two numbers.' -Model $model @a `
    -Verify @{ Type = 'Code'; Language = 'PowerShell' }, $judge -MaxAttempts 2 -Wait

# 5. MCP file operations: create then read a file through @modelcontextprotocol/server-filesystem (max/* only).
$ownFolder = -not $WorkFolder
$folder = if ($WorkFolder) { $WorkFolder } else { [IO.Path]::Combine([IO.Path]::GetTempPath(), "llmtasks-seed-" + [guid]::NewGuid().ToString("N")) }
$null = [IO.Directory]::CreateDirectory($folder)
$file = [IO.Path]::Combine($folder, "hello.txt")
$server = if ($env:LLMTASKS_SEED_MCP_SERVER) { @{ command = 'node'; args = @($env:LLMTASKS_SEED_MCP_SERVER, $folder) } }
          else { @{ command = 'npx'; args = @('-y', '@modelcontextprotocol/server-filesystem', $folder) } }
$mcp = @{ mcpServers = @{ filesystem = $server } }
if ($live -and $env:LLMTASKS_MAX_MODEL) {
    # In -p mode the CLI denies any tool it was not allowed: name the two the case needs.
    $results['5 mcp files'] = Start-LlmTask "Create $file containing 'hello from mcp', then read it back and print its content." `
        -Model $env:LLMTASKS_MAX_MODEL -McpConfig $mcp -AllowedTools mcp__filesystem__write_file, mcp__filesystem__read_file `
        -MaxTurns 5 -WorkingDirectory $folder -Verify @{ Type = 'Contains'; Text = 'hello from mcp' } -Wait
} else {
    [IO.File]::WriteAllText($file, 'hello from mcp')   # what the MCP server would have done
    $a = Mock 'The file contains: hello from mcp'
    $results['5 mcp files'] = Start-LlmTask "Create $file, then read it back." -Model mock/echo @a -Verify @{ Type = 'Contains'; Text = 'hello from mcp' } -Wait
}
$fileCheck = [IO.File]::Exists($file) -and [IO.File]::ReadAllText($file) -eq 'hello from mcp'

# 6. JSON structured output: name, age, city.
$schema = @{ type = 'object'; required = @('name', 'age', 'city'); properties = @{ name = @{ type = 'string' }; age = @{ type = 'integer' }; city = @{ type = 'string' } } }
$a = Mock '{"name": "Ada", "age": 36, "city": "London"}'
$results['6 json output'] = Start-LlmTask 'Give a person as JSON with name, age and city.' -Model $model @a -ResponseFormat Json `
    -Verify @{ Type = 'JsonSchema'; Schema = $schema }, @{ Type = 'FieldPresent'; Path = 'city' } -Wait

# 7. OpenAI-compatible question whose answer contains "4".
$compat = if ($live -and $env:LLMTASKS_OPENAI_COMPAT_MODEL) { $env:LLMTASKS_OPENAI_COMPAT_MODEL } else { 'mock/echo' }
$a = if ($compat -eq 'mock/echo') { @{ MockResponse = '2 + 2 = 4' } } else { @{} }
$results['7 openai-compatible'] = Start-LlmTask 'What is 2+2?' -Model $compat @a -Verify @{ Type = 'Contains'; Text = '4' } -Wait

# 8. Exactly 3 random words: word count, re-asks, review escalation (offline: two bad answers, then a good one).
$a = Mock 'Here are three words: apple, river, cloud', 'apple river cloud stone', 'apple river cloud'
$results['8 three words'] = Start-LlmTask 'Generate exactly 3 random words' -Model $(if ($live) { $model } else { 'mock/sequence' }) @a `
    -Verify @{ Type = 'Length'; Words = $true; Min = 3; Max = 3 } -MaxAttempts 3 -ReviewAfterAttempts 3 -Wait

foreach ($case in $results.Keys) {
    $t = $results[$case]
    '{0,-22} {1,-11} attempts={2} {3}' -f $case, $t.State, $t.Attempts, $(if ($t.State -eq 'Completed') { $t.Output } else { $t.Error })
}
'5 mcp files: file check ' + $(if ($fileCheck) { 'passed' } else { 'FAILED' })
if ($ownFolder) { [IO.Directory]::Delete($folder, $true) }

#Requires -Version 7.4
<#
.SYNOPSIS
    LlmTasks in two minutes: start model calls as tasks, wait for them, read the answers.
.DESCRIPTION
    Runs offline with the mock provider unless $env:LLMTASKS_DEFAULT_MODEL names a real model
    (for example 'openai/gpt-4o-mini' with $env:OPENAI_API_KEY set).
    pwsh -File examples/quickstart.ps1
    dotnet build -c Release; dotnet pwsh -File examples/quickstart.ps1   (the pinned PowerShell tool)
#>
if (-not (Get-Module LlmTasks)) {
    Import-Module "$PSScriptRoot/../out/LlmTasks/LlmTasks.psd1" -ErrorAction Stop
}

$model = if ($env:LLMTASKS_DEFAULT_MODEL) { $env:LLMTASKS_DEFAULT_MODEL } else { 'mock/delay:200' }
"Model: $model    Store: $(if ($env:LLMTASKS_STORE) { $env:LLMTASKS_STORE } else { 'the per-user default' })"

"`n== Start three tasks: the objects come back at once, the calls run in the background"
$tasks = 'What is 2+2?', 'Name a prime number.', 'Say hello in French.' |
    Start-LlmTask -Model $model -Name quickstart
$tasks

"`n== Wait for them (in input order, each as soon as it and those before it finish)"
$tasks | Wait-LlmTask

"`n== Receive the answers"
$tasks | Receive-LlmTask

"`n== A conversation with a system prompt, waited inline"
$conversation = @(
    @{ role = 'user'; content = 'My name is Ada.' }
    @{ role = 'assistant'; content = 'Nice to meet you, Ada.' }
    @{ role = 'user'; content = 'What is my name?' }
)
$answer = Start-LlmTask -Messages $conversation -System 'Answer in one short sentence.' -Model $model -Wait
"Task $($answer.Id) is $($answer.State) after $($answer.Attempts) attempt(s): $($answer.Output)"

"`n== A failed call is an error you can catch"
try {
    Start-LlmTask 'This one fails on purpose.' -Model mock/fail -Name quickstart -Wait |
        Receive-LlmTask -ErrorAction Stop
}
catch {
    "Caught $($_.FullyQualifiedErrorId): $($_.Exception.Message)"
}

"`n== Everything is in the store: close the shell and Get-LlmTask finds it next time"
Get-LlmTask -Name quickstart

"`n== Clean up"
Get-LlmTask -Name quickstart | Remove-LlmTask
"Removed. Tasks left named quickstart: $(@(Get-LlmTask -Name quickstart -ErrorAction SilentlyContinue).Count)"

@{
    RootModule           = 'LlmTasks.PowerShell.dll'
    ModuleVersion        = '0.1.0'
    GUID                 = '6f1f3c2e-6a0b-4f5e-9a43-1c7e6a2b9d40'
    Author               = 'LlmTasks contributors'
    CompanyName          = 'LlmTasks'
    Copyright            = '(c) LlmTasks contributors. MIT License.'
    Description          = 'Runs LLM model calls as durable, asynchronous tasks in a SQLite store: start many at once, close the shell, come back, wait, read and verify the results.'
    PowerShellVersion    = '7.4'
    CompatiblePSEditions = @('Core')
    FormatsToProcess     = @('LlmTasks.format.ps1xml')
    TypesToProcess       = @('LlmTasks.types.ps1xml')
    CmdletsToExport      = @(
        'Start-LlmTask'
        'Get-LlmTask'
        'Wait-LlmTask'
        'Receive-LlmTask'
        'Stop-LlmTask'
        'Remove-LlmTask'
        'Invoke-LlmVerification'
        'Approve-LlmTask'
        'Restart-LlmTask'
        'Get-LlmTaskAttempt'
        'Invoke-LlmTaskWorker'
        'Repair-LlmTaskStore'
        'Get-LlmTaskBatch'
        'Get-LlmModel'
        'Set-LlmRateLimit'
        'Get-LlmRateLimit'
        'Remove-LlmRateLimit'
        'Set-LlmBudget'
        'Get-LlmBudget'
        'Remove-LlmBudget'
        'Start-LlmTaskBoard'
        'Get-LlmTaskBoard'
        'Stop-LlmTaskBoard'
    )
    FunctionsToExport    = @()
    AliasesToExport      = @()
    VariablesToExport    = @()
    PrivateData          = @{
        PSData = @{
            Tags       = @('LLM', 'AI', 'OpenAI', 'Anthropic', 'Claude', 'Jobs', 'Tasks', 'SQLite', 'PSEdition_Core')
            LicenseUri = 'https://opensource.org/licenses/MIT'
        }
    }
}

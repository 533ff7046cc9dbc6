using System.Management.Automation;
using LlmTasks.Execution;
using LlmTasks.PowerShell.Internal;

namespace LlmTasks.PowerShell.Commands;

/// <summary>Removes limits set with Set-LlmRateLimit; a scope $env:LLMTASKS_RATE_LIMITS also names keeps that limit.</summary>
[Cmdlet(VerbsCommon.Remove, "LlmRateLimit", SupportsShouldProcess = true)]
[OutputType(typeof(void))]
public sealed class RemoveLlmRateLimitCommand : PSCmdlet
{
    /// <summary>Providers or whole models, as given to Set-LlmRateLimit; piped limits bind by their Scope.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("Scope")]
    [ValidateNotNullOrEmpty]
    public string[] Model { get; set; } = [];

    protected override void ProcessRecord()
    {
        foreach (var scope in Model)
        {
            if (!ShouldProcess(scope, "Remove the session's rate limit"))
            {
                continue;
            }

            if (!TaskManagers.Options.RateLimits.Remove(scope))
            {
                WriteError(ErrorRecords.Create(ErrorIds.RateLimitNotFound, ErrorCategory.ObjectNotFound,
                    $"This session set no rate limit for '{scope}'. Get-LlmRateLimit lists the limits in force (a limit from $env:LLMTASKS_RATE_LIMITS is removed by changing the variable before the module is imported).", scope));
            }
        }
    }
}

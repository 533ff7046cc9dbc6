using System.Management.Automation;
using LlmTasks.Execution;
using LlmTasks.Execution.Limits;
using LlmTasks.PowerShell.Internal;

namespace LlmTasks.PowerShell.Commands;

/// <summary>
/// The rate limits in force in this session: those set with Set-LlmRateLimit or $env:LLMTASKS_RATE_LIMITS, and those the
/// calls learned from the providers' headers (with how many processes on the store share each).
/// </summary>
[Cmdlet(VerbsCommon.Get, "LlmRateLimit")]
[OutputType(typeof(RateLimitSetting))]
public sealed class GetLlmRateLimitCommand : PSCmdlet
{
    /// <summary>Only these scopes (providers or whole models); wildcards.</summary>
    [Parameter(Position = 0)]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(Completers.ModelCompleter))]
    public string[]? Model { get; set; }

    protected override void EndProcessing()
    {
        try
        {
            var patterns = Model?.Select(m => new WildcardPattern(m, WildcardOptions.IgnoreCase)).ToList();
            WriteObject(TaskManagers.RateLimits().Where(s => patterns is null || patterns.Any(p => p.IsMatch(s.Scope))), enumerateCollection: true);
        }
        catch (LlmTasksException e)
        {
            ThrowTerminatingError(ErrorRecords.From(e));
        }
        catch (WildcardPatternException e)
        {
            ThrowTerminatingError(ErrorRecords.Create(ErrorIds.InvalidWildcard, ErrorCategory.InvalidArgument, e.Message, Model));
        }
    }
}

using System.Management.Automation;
using LlmTasks.Execution;
using LlmTasks.Execution.Limits;
using LlmTasks.PowerShell.Internal;

namespace LlmTasks.PowerShell.Commands;

/// <summary>
/// Sets requests and/or tokens per minute for a provider (all its models together) or a whole model, for every task this
/// session runs, on every store. Processes on one store share a limit: each paces to its share.
/// </summary>
[Cmdlet(VerbsCommon.Set, "LlmRateLimit", SupportsShouldProcess = true)]
[OutputType(typeof(RateLimitSetting))]
public sealed class SetLlmRateLimitCommand : PSCmdlet
{
    /// <summary>Providers (openai) or whole models (openai/gpt-4o-mini).</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("Scope")]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(Completers.ModelCompleter))]
    public string[] Model { get; set; } = [];

    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateRange(1, int.MaxValue)]
    public int? RequestsPerMinute { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateRange(1, RateLimitOptions.MaxPerMinute)]
    public long? TokensPerMinute { get; set; }

    /// <summary>Writes the limits as set.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        foreach (var scope in Model)
        {
            var what = string.Join(" and ", new[] { RequestsPerMinute is { } r ? $"{r:N0} requests" : null, TokensPerMinute is { } t ? $"{t:N0} tokens" : null }.Where(p => p is not null));
            if (!ShouldProcess(scope, $"Limit to {what} a minute"))
            {
                continue;
            }

            try
            {
                var setting = TaskManagers.Options.RateLimits.Set(scope, RequestsPerMinute, TokensPerMinute);
                if (PassThru)
                {
                    WriteObject(setting);
                }
            }
            catch (LlmTasksException e)
            {
                WriteError(ErrorRecords.From(e));
            }
        }
    }
}

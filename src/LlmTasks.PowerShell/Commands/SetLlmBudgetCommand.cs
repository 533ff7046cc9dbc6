using System.Management.Automation;
using LlmTasks.Execution.Budgets;
using LlmTasks.PowerShell.Internal;

namespace LlmTasks.PowerShell.Commands;

/// <summary>
/// Sets a budget of the store: at most -MaxCostUsd spent per -Period (UTC) by every task of the store (-Scope store) or by
/// the tasks whose name matches -Scope (wildcards). Kept in the store: every process on it holds to it. Tasks that would
/// pass it wait (Pending, with the reason as their Error) until the period turns or the budget is raised or removed.
/// </summary>
[Cmdlet(VerbsCommon.Set, "LlmBudget", SupportsShouldProcess = true)]
[OutputType(typeof(LlmBudget))]
public sealed class SetLlmBudgetCommand : LlmTaskCommandBase
{
    /// <summary>'store' (every task of the store) or a task name; wildcards.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string[] Scope { get; set; } = [];

    /// <summary>Hour, Day, Week (from Monday) or Month, in UTC.</summary>
    [Parameter(Mandatory = true, ValueFromPipelineByPropertyName = true)]
    [ValidateSet(nameof(BudgetPeriod.Hour), nameof(BudgetPeriod.Day), nameof(BudgetPeriod.Week), nameof(BudgetPeriod.Month))]
    public string Period { get; set; } = null!;

    /// <summary>The cap in USD for each period.</summary>
    [Parameter(Mandatory = true, ValueFromPipelineByPropertyName = true)]
    public decimal MaxCostUsd { get; set; }

    /// <summary>Writes the budgets as set.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        var period = Enum.Parse<BudgetPeriod>(Period, ignoreCase: true);
        foreach (var scope in Scope)
        {
            if (!ShouldProcess(scope, $"Cap the spend at {MaxCostUsd} USD per {period}"))
            {
                continue;
            }

            try
            {
                var budget = Manager().SetBudget(scope, period, MaxCostUsd);
                if (PassThru)
                {
                    WriteObject(budget);
                }
            }
            catch (LlmTasksException e)
            {
                WriteError(e);
            }
        }

        FlushEngineEvents();
    }
}

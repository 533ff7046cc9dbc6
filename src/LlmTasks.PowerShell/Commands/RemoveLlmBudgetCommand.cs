using System.Management.Automation;
using LlmTasks.Execution.Budgets;
using LlmTasks.PowerShell.Internal;

namespace LlmTasks.PowerShell.Commands;

/// <summary>Removes budgets of the store (by scope as set, and period); the tasks budgets held are checked again at once.</summary>
[Cmdlet(VerbsCommon.Remove, "LlmBudget", SupportsShouldProcess = true)]
[OutputType(typeof(void))]
public sealed class RemoveLlmBudgetCommand : LlmTaskCommandBase
{
    /// <summary>Scopes exactly as given to Set-LlmBudget; piped budgets bind by their Scope and Period.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string[] Scope { get; set; } = [];

    /// <summary>The periods to remove; none: every period of the scope.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateSet(nameof(BudgetPeriod.Hour), nameof(BudgetPeriod.Day), nameof(BudgetPeriod.Week), nameof(BudgetPeriod.Month))]
    public string[]? Period { get; set; }

    protected override void ProcessRecord()
    {
        try
        {
            var manager = Manager();
            var periods = Period?.Select(p => Enum.Parse<BudgetPeriod>(p, ignoreCase: true)).ToList();
            foreach (var scope in Scope)
            {
                var matching = periods ?? manager.Budgets().Where(b => string.Equals(b.Scope, scope.Trim(), StringComparison.OrdinalIgnoreCase)).Select(b => b.Period).ToList();
                if (matching.Count == 0)
                {
                    NotFound(scope, null);
                    continue;
                }

                foreach (var period in matching)
                {
                    if (ShouldProcess($"{scope} ({period})", "Remove the budget") && !manager.RemoveBudget(scope, period))
                    {
                        NotFound(scope, period);
                    }
                }
            }
        }
        catch (LlmTasksException e)
        {
            WriteError(e);
        }

        FlushEngineEvents();
    }

    private void NotFound(string scope, BudgetPeriod? period) =>
        WriteError(ErrorRecords.Create(ErrorIds.BudgetNotFound, ErrorCategory.ObjectNotFound,
            $"The store has no budget for '{scope}'{(period is { } p ? $" per {p}" : string.Empty)}. Get-LlmBudget lists the store's budgets.", scope));
}

using System.Management.Automation;
using LlmTasks.Execution.Budgets;
using LlmTasks.PowerShell.Internal;

namespace LlmTasks.PowerShell.Commands;

/// <summary>
/// The budgets of the store: scope, period, cap, what the scope spent in the current period (the cost of its attempts that
/// started in it, read from the store) and when the period ends. Reads only.
/// </summary>
[Cmdlet(VerbsCommon.Get, "LlmBudget")]
[OutputType(typeof(LlmBudget))]
public sealed class GetLlmBudgetCommand : LlmTaskCommandBase
{
    /// <summary>Only these scopes, as set (wildcards match the scope's text).</summary>
    [Parameter(Position = 0)]
    [ValidateNotNullOrEmpty]
    public string[]? Scope { get; set; }

    /// <summary>Only budgets of these periods.</summary>
    [Parameter]
    [ValidateSet(nameof(BudgetPeriod.Hour), nameof(BudgetPeriod.Day), nameof(BudgetPeriod.Week), nameof(BudgetPeriod.Month))]
    public string[]? Period { get; set; }

    protected override void EndProcessing()
    {
        try
        {
            var patterns = Scope?.Select(s => new WildcardPattern(s, WildcardOptions.IgnoreCase)).ToList();
            var budgets = Manager().Budgets()
                .Where(b => patterns is null || patterns.Any(p => p.IsMatch(b.Scope)))
                .Where(b => Period is null || Period.Contains(b.Period.ToString(), StringComparer.OrdinalIgnoreCase));
            WriteObject(budgets, enumerateCollection: true);
        }
        catch (LlmTasksException e)
        {
            WriteError(e);
        }
        catch (WildcardPatternException e)
        {
            ThrowTerminatingError(ErrorRecords.Create(ErrorIds.InvalidWildcard, ErrorCategory.InvalidArgument, e.Message, Scope));
        }

        FlushEngineEvents();
    }
}

namespace LlmTasks.Storage;

/// <summary>A budget as the store keeps it (table <c>budgets</c>, migration 6).</summary>
public sealed record BudgetRow(long Id, string Scope, string Period, decimal MaxCostUsd);

/// <summary>
/// What a store keeps of budgets (Set-LlmBudget), on every backend alike: the caps, shared by every process on the store.
/// Spend is not kept: it is the cost of the attempts, summed per task name over a period (<see cref="SpendByName"/>), so
/// every process on the store reads the same figure. A task a budget holds back is Pending with the lease owner
/// <c>budget:&lt;id&gt;</c> and a lease that runs out when the period turns: claims leave it until then.
/// </summary>
public interface IBudgetStore
{
    IReadOnlyList<BudgetRow> GetBudgets();

    /// <summary>Adds the budget of this scope and period, or changes its cap; then hands back every task a budget held (they are checked again).</summary>
    BudgetRow SetBudget(string scope, string period, decimal maxCostUsd);

    /// <summary>Removes the budget; then hands back every task a budget held. False when there was none.</summary>
    bool RemoveBudget(string scope, string period);

    /// <summary>The cost of the attempts that started at or after <paramref name="sinceMs"/> (store clock), per task name (null: unnamed tasks).</summary>
    IReadOnlyList<(string? Name, decimal CostUsd)> SpendByName(long sinceMs);

    /// <summary>
    /// Holds back a Pending task this owner holds (nobody asked to stop it): its lease goes to <paramref name="holdOwner"/> for
    /// <paramref name="holdMs"/> from the store's now, with <paramref name="reason"/> as its Error (ErrorKind BudgetHold). Null when it did not apply.
    /// </summary>
    LlmTask? HoldTask(long id, string owner, string holdOwner, long holdMs, string reason);
}

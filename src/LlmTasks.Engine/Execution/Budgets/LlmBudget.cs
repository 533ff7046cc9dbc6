using System.Globalization;

namespace LlmTasks.Execution.Budgets;

/// <summary>
/// A budget of a store: at most <see cref="MaxCostUsd"/> spent per <see cref="Period"/> by the tasks of
/// <see cref="Scope"/> (<c>store</c>: every task; otherwise a task-name wildcard). Get-LlmBudget writes these, with what
/// the scope has spent in the current period (the cost of the attempts that started in it, read from the store).
/// </summary>
public sealed class LlmBudget
{
    /// <summary>The scope every task of the store is in.</summary>
    public const string StoreScope = "store";

    public required long Id { get; init; }

    /// <summary><c>store</c>, or a task-name wildcard (<c>reviews*</c>).</summary>
    public required string Scope { get; init; }

    public required BudgetPeriod Period { get; init; }

    public required decimal MaxCostUsd { get; init; }

    /// <summary>What the scope's attempts that started in the current period cost (calls still under way are not in yet).</summary>
    public decimal SpentUsd { get; init; }

    public decimal RemainingUsd => Math.Max(0, MaxCostUsd - SpentUsd);

    /// <summary>When the current period began (UTC).</summary>
    public DateTimeOffset PeriodStart { get; init; }

    /// <summary>When the current period ends and the spend starts again from 0 (UTC).</summary>
    public DateTimeOffset PeriodEnd { get; init; }

    public string? StorePath { get; init; }

    /// <summary>True when the scope's spend reached the cap: its tasks wait for the period to turn.</summary>
    public bool IsExhausted => SpentUsd >= MaxCostUsd;

    /// <summary>The lease owner of the tasks this budget holds back (<c>budget:&lt;id&gt;</c>).</summary>
    internal string HoldOwner => BudgetHolds.Owner(Id);

    internal bool Covers(string? taskName) =>
        string.Equals(Scope, StoreScope, StringComparison.OrdinalIgnoreCase)
        || (taskName is not null && Storage.Wildcard.ToRegex(Scope).IsMatch(taskName));

    /// <summary>"budget 'Day' of 'reviews*' (5.00 USD spent of 5.00)", as a wait's progress says it.</summary>
    internal string Describe() => string.Create(CultureInfo.InvariantCulture, $"budget '{Period}' of '{Scope}' ({SpentUsd:0.00####} USD spent of {MaxCostUsd:0.00####})");

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Scope} per {Period}: {SpentUsd:0.00####} of {MaxCostUsd:0.00####} USD");
}

/// <summary>The lease owners that stand for a budget's hold on a task: claims leave such a task until its lease (the period's end) runs out.</summary>
internal static class BudgetHolds
{
    public const string Prefix = "budget:";

    public static string Owner(long budgetId) => Prefix + budgetId.ToString(CultureInfo.InvariantCulture);

    public static bool IsHold(string? owner) => owner?.StartsWith(Prefix, StringComparison.Ordinal) == true;
}

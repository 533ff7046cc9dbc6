namespace LlmTasks.Execution.Budgets;

/// <summary>The span a budget's cap holds for. Periods are UTC: an hour, a day, a week from Monday 00:00, a calendar month.</summary>
public enum BudgetPeriod
{
    Hour,
    Day,
    Week,
    Month,
}

/// <summary>Where the period an instant falls in begins and ends (UTC).</summary>
internal static class BudgetPeriods
{
    public static DateTimeOffset Start(BudgetPeriod period, DateTimeOffset now)
    {
        var utc = now.ToUniversalTime();
        return period switch
        {
            BudgetPeriod.Hour => new DateTimeOffset(utc.Year, utc.Month, utc.Day, utc.Hour, 0, 0, TimeSpan.Zero),
            BudgetPeriod.Day => new DateTimeOffset(utc.Year, utc.Month, utc.Day, 0, 0, 0, TimeSpan.Zero),
            BudgetPeriod.Week => new DateTimeOffset(utc.Year, utc.Month, utc.Day, 0, 0, 0, TimeSpan.Zero).AddDays(-(((int)utc.DayOfWeek + 6) % 7)),
            BudgetPeriod.Month => new DateTimeOffset(utc.Year, utc.Month, 1, 0, 0, 0, TimeSpan.Zero),
            _ => throw new ArgumentOutOfRangeException(nameof(period), period, null),
        };
    }

    public static DateTimeOffset End(BudgetPeriod period, DateTimeOffset now)
    {
        var start = Start(period, now);
        return period switch
        {
            BudgetPeriod.Hour => start.AddHours(1),
            BudgetPeriod.Day => start.AddDays(1),
            BudgetPeriod.Week => start.AddDays(7),
            _ => start.AddMonths(1),
        };
    }
}

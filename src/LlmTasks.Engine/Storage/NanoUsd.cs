namespace LlmTasks.Storage;

/// <summary>Costs are stored as whole nano-dollars so SQL can add them up exactly.</summary>
internal static class NanoUsd
{
    private const decimal PerUsd = 1_000_000_000m;

    public static long? FromUsd(decimal? usd) => usd is { } v ? (long)Math.Round(v * PerUsd, MidpointRounding.AwayFromZero) : null;

    public static decimal ToUsd(long nanos) => nanos / PerUsd;
}

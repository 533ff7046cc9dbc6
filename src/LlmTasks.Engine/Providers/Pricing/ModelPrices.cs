using System.Text.RegularExpressions;

namespace LlmTasks.Providers.Pricing;

/// <summary>
/// Approximate list prices (USD per million input / output tokens) of a few well-known models, to
/// estimate a call's cost from the usage the API returns. Not a bill: cached-token discounts and
/// price changes are not modelled; batch calls are half the live price. Unknown models get no cost.
/// </summary>
public static partial class ModelPrices
{
    private static readonly Dictionary<string, (decimal Input, decimal Output)> PerMillion = new(StringComparer.OrdinalIgnoreCase)
    {
        ["openai/gpt-4o"] = (2.50m, 10.00m),
        ["openai/gpt-4o-mini"] = (0.15m, 0.60m),
        ["openai/gpt-4.1"] = (2.00m, 8.00m),
        ["openai/gpt-4.1-mini"] = (0.40m, 1.60m),
        ["openai/gpt-4.1-nano"] = (0.10m, 0.40m),
        ["anthropic/claude-sonnet-4-5"] = (3.00m, 15.00m),
        ["anthropic/claude-sonnet-4"] = (3.00m, 15.00m),
        ["anthropic/claude-haiku-4-5"] = (1.00m, 5.00m),
        ["anthropic/claude-opus-4-1"] = (15.00m, 75.00m),
    };

    /// <summary>The estimated cost of a call, or null when the model's price is not known or usage is missing.</summary>
    public static decimal? Cost(ModelId model, long? inputTokens, long? outputTokens)
    {
        if (inputTokens is null && outputTokens is null)
        {
            return null;
        }

        var name = $"{model.Provider}/{DatedSnapshot().Replace(model.Model, string.Empty)}";
        if (!PerMillion.TryGetValue(name, out var price))
        {
            return null;
        }

        return ((inputTokens ?? 0) * price.Input + (outputTokens ?? 0) * price.Output) / 1_000_000m;
    }

    /// <summary>
    /// The estimated cost of a call at the batch price when <paramref name="batch"/> is set: half the live price, the
    /// rule OpenAI's Batch API and Anthropic's Message Batches both publish (input and output tokens alike).
    /// </summary>
    public static decimal? Cost(ModelId model, long? inputTokens, long? outputTokens, bool batch) =>
        Cost(model, inputTokens, outputTokens) is { } live ? (batch ? live * BatchShare : live) : null;

    /// <summary>What a batch costs of the live price (OpenAI and Anthropic: 50 %).</summary>
    private const decimal BatchShare = 0.5m;

    /// <summary>A dated snapshot suffix: gpt-4o-mini-2024-07-18, claude-sonnet-4-5-20250929.</summary>
    [GeneratedRegex(@"-(\d{4}-\d{2}-\d{2}|\d{8})$")]
    private static partial Regex DatedSnapshot();
}

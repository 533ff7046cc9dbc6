namespace LlmTasks.Providers.Pricing;

/// <summary>
/// A call's estimated cost (USD) from the price map in force (<see cref="ModelCatalog.Current"/>: LiteLLM's, shipped
/// with the module, or $env:LLMTASKS_MODEL_PRICES's file). Not a bill. Input tokens read from the provider's cache are
/// priced at the cached rate where the map has one; a batch call at the map's batch prices, else half the live ones.
/// Models the map does not know get no cost (null), not zero.
/// </summary>
public static class ModelPrices
{
    /// <summary>The share of the live price a batch call costs when the price map gives no batch price (OpenAI's and Anthropic's batch discount).</summary>
    public const decimal BatchShareWithoutPrice = 0.5m;

    /// <summary>The estimated cost of a call, or null when the model's price is not known or usage is missing.</summary>
    public static decimal? Cost(ModelId model, long? inputTokens, long? outputTokens) => Cost(model, inputTokens, outputTokens, batch: false);

    /// <summary>The estimated cost of a call, live or through the provider's batch API.</summary>
    public static decimal? Cost(ModelId model, long? inputTokens, long? outputTokens, bool batch) =>
        Cost(model, inputTokens, outputTokens, cachedInputTokens: null, batch);

    /// <summary>
    /// The estimated cost of a call whose <paramref name="inputTokens"/> include <paramref name="cachedInputTokens"/> read from the
    /// provider's prompt cache (as Microsoft.Extensions.AI counts them).
    /// </summary>
    public static decimal? Cost(ModelId model, long? inputTokens, long? outputTokens, long? cachedInputTokens, bool batch) =>
        Cost(ModelCatalog.CurrentOrBuiltIn().Find(model), inputTokens, outputTokens, cachedInputTokens, batch);

    internal static decimal? Cost(LlmModelInfo? info, long? inputTokens, long? outputTokens, long? cachedInputTokens, bool batch)
    {
        if (info is null || (inputTokens is null && outputTokens is null))
        {
            return null;
        }

        var input = inputTokens is > 0 ? inputTokens.Value : 0;
        var output = outputTokens is > 0 ? outputTokens.Value : 0;
        if ((input > 0 && info.InputPerToken is null) || (output > 0 && info.OutputPerToken is null))
        {
            return null; // half a price is no price
        }

        var cached = Math.Clamp(cachedInputTokens ?? 0, 0, input);
        var cachedRate = info.CachedInputPerToken ?? info.InputPerToken ?? 0;
        var inputRate = info.InputPerToken ?? 0;
        var outputRate = info.OutputPerToken ?? 0;
        if (batch)
        {
            inputRate = info.BatchInputPerToken ?? inputRate * BatchShareWithoutPrice;
            outputRate = info.BatchOutputPerToken ?? outputRate * BatchShareWithoutPrice;
            cachedRate = Math.Min(cachedRate, inputRate);
        }

        return (input - cached) * inputRate + cached * cachedRate + output * outputRate;
    }
}

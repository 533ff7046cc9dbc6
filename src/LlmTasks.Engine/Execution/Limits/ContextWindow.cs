using System.Globalization;
using LlmTasks.Providers;
using LlmTasks.Providers.Pricing;

namespace LlmTasks.Execution.Limits;

/// <summary>
/// Refuses a request whose prompt clearly does not fit the model's context window (the price map's max_input_tokens), before
/// it is stored or anything is sent. The prompt is counted with OpenAI's tokenizer (<see cref="TokenEstimate"/>): for OpenAI
/// models (openai/, azure/, openrouter/openai/) that count is the model's own; for the others it is an estimate, and the
/// request is refused only when it is over the window by more than <see cref="EstimateMargin"/>.
/// </summary>
internal static class ContextWindow
{
    /// <summary>How far over the window an estimated count must be before the request is refused.</summary>
    public const double EstimateMargin = 0.10;

    /// <summary>
    /// Refuses the request when the prompt clearly does not fit <paramref name="model"/>, unless it falls back on ContextTooLong to a
    /// model it may fit (the call then moves on to it without trying the first: <see cref="Fits"/>).
    /// </summary>
    public static void Check(LlmTaskRequest request, ModelId model, ModelCatalog catalog, ProviderRegistry? providers = null)
    {
        try
        {
            Check(request, model, catalog);
        }
        catch (LlmTasksException) when (providers is not null && request.Fallbacks is { Count: > 0 } fallbacks
            && (request.FallbackOn ?? Fallbacks.DefaultKinds).Contains(CallErrors.ContextTooLongKind, StringComparer.OrdinalIgnoreCase)
            && fallbacks.Any(f => Fits(request, providers.ParseKnown(f), catalog)))
        {
        }
    }

    /// <summary>False when the prompt clearly does not fit the model (as <see cref="Check(LlmTaskRequest, ModelId, ModelCatalog)"/> decides).</summary>
    public static bool Fits(LlmTaskRequest request, ModelId model, ModelCatalog catalog)
    {
        try
        {
            Check(request, model, catalog);
            return true;
        }
        catch (LlmTasksException)
        {
            return false;
        }
    }

    public static void Check(LlmTaskRequest request, ModelId model, ModelCatalog catalog)
    {
        if (catalog.Find(model) is not { ContextWindow: { } window } info)
        {
            return;
        }

        var exact = CountsLikeOpenAI(model);
        var allowed = exact ? window : (long)Math.Floor(window * (1 + EstimateMargin));
        if (TokenEstimate.UpperBound(request.Messages) <= allowed)
        {
            return; // it fits whatever the tokenizer says: no count needed
        }

        var tokens = TokenEstimate.Count(request.Messages);
        if (tokens <= allowed)
        {
            return;
        }

        var about = exact ? string.Empty : "about ";
        throw new LlmTasksException(ErrorIds.ContextWindowExceeded, LlmErrorCategory.LimitsExceeded,
            $"The prompt is {about}{tokens.ToString("N0", CultureInfo.InvariantCulture)} tokens; {info.Model} takes at most {window.ToString("N0", CultureInfo.InvariantCulture)} input tokens " +
            $"({catalog.Source}). Nothing was stored or sent. Shorten the prompt, or choose a model with a larger context window: " +
            $"Get-LlmModel | Where-Object ContextWindow -ge {tokens.ToString(CultureInfo.InvariantCulture)}.")
        { Target = tokens };
    }

    private static bool CountsLikeOpenAI(ModelId model) =>
        model.Provider is "openai" or "azure"
        || (model.Provider == "openrouter" && model.Model.StartsWith("openai/", StringComparison.OrdinalIgnoreCase));
}

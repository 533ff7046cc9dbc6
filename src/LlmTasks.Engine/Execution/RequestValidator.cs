using System.Globalization;
using LlmTasks.Providers;

namespace LlmTasks.Execution;

/// <summary>Checks a request before it is stored, so a bad one never becomes a task (or a poison task that fails later for a false reason).</summary>
internal static class RequestValidator
{
    /// <summary>-TimeoutSec's upper bound: 7 days (each try may take at most 10 minutes anyway; timers end at 49.7 days).</summary>
    public const double MaxTimeoutSec = 7 * 24 * 3600;

    /// <summary>The most text a task's messages may hold together, in characters (the store keeps each string whole, in JSON).</summary>
    public const long MaxPromptChars = 64L * 1024 * 1024;

    public const int MaxTurnsLimit = 1000;

    /// <summary>The most -MaxCostUsd may say (US dollars).</summary>
    public const decimal MaxCostUsdLimit = 1_000_000m;

    public static void Validate(LlmTaskRequest request)
    {
        if (request.Messages.Count == 0 || request.Messages.All(m => string.IsNullOrWhiteSpace(m.Content)))
        {
            throw new LlmTasksException(ErrorIds.EmptyPrompt, LlmErrorCategory.InvalidArgument,
                "The prompt is empty. Give -Prompt some text, or -Messages with at least one non-empty message.");
        }

        if (!request.Messages.Any(m => m.Role == LlmRole.User && !string.IsNullOrWhiteSpace(m.Content)))
        {
            throw new LlmTasksException(ErrorIds.EmptyPrompt, LlmErrorCategory.InvalidArgument,
                "The messages have no user message with text: a model needs at least one.");
        }

        var chars = request.Messages.Sum(m => (long)(m.Content?.Length ?? 0));
        if (chars > MaxPromptChars)
        {
            throw new LlmTasksException(ErrorIds.PromptTooLarge, LlmErrorCategory.InvalidArgument,
                $"The prompt is {chars / (1024.0 * 1024):0.#} M characters; a task takes at most {MaxPromptChars / (1024 * 1024)} M (no model takes nearly that much). Split the input, or send a summary.")
            { Target = chars };
        }

        if (request.TimeoutSec is { } timeout && !(timeout > 0 && timeout <= MaxTimeoutSec))
        {
            throw new LlmTasksException(ErrorIds.InvalidTimeout, LlmErrorCategory.InvalidArgument,
                $"-TimeoutSec must be more than 0 and at most {MaxTimeoutSec:0} seconds (7 days); got {timeout.ToString(CultureInfo.InvariantCulture)}.") { Target = timeout };
        }

        if (request.Temperature is { } temperature && !(temperature >= 0 && temperature <= 2))
        {
            throw new LlmTasksException(ErrorIds.InvalidTemperature, LlmErrorCategory.InvalidArgument,
                $"-Temperature must be between 0 and 2; got {temperature.ToString(CultureInfo.InvariantCulture)}.") { Target = temperature };
        }

        if (request.MaxCostUsd is { } maxCost && maxCost is <= 0 or > MaxCostUsdLimit)
        {
            throw new LlmTasksException(ErrorIds.InvalidMaxCost, LlmErrorCategory.InvalidArgument,
                $"-MaxCostUsd must be more than 0 and at most {MaxCostUsdLimit:N0} (US dollars); got {maxCost.ToString(System.Globalization.CultureInfo.InvariantCulture)}.") { Target = maxCost };
        }

        if (request.MaxCostUsd is { } batchCap && request.Batch)
        {
            // A batch's requests are all sent at once and answered together: there is no next call to hold back.
            throw new LlmTasksException(ErrorIds.InvalidMaxCost, LlmErrorCategory.InvalidArgument,
                "-MaxCostUsd does not apply to -AsBatch: a provider batch sends its requests together, so no call can be held back at the cap. "
                + "Leave out -MaxCostUsd, or run the tasks without -AsBatch.") { Target = batchCap };
        }

        if (request.MaxTokens is { } maxTokens && maxTokens <= 0)
        {
            throw new LlmTasksException(ErrorIds.InvalidMaxTokens, LlmErrorCategory.InvalidArgument,
                $"-MaxTokens must be a positive number; got {maxTokens}.") { Target = maxTokens };
        }

        if (request.ProviderOptions?.MaxTurns is { } turns && turns is < 1 or > MaxTurnsLimit)
        {
            throw new LlmTasksException(ErrorIds.InvalidMaxTurns, LlmErrorCategory.InvalidArgument,
                $"-MaxTurns must be a whole number from 1 to {MaxTurnsLimit}; got '{turns}'.") { Target = turns };
        }

        if (request.StopSequences is { } stops && stops.Any(string.IsNullOrEmpty))
        {
            throw new LlmTasksException(ErrorIds.InvalidOption, LlmErrorCategory.InvalidArgument,
                "-StopSequence values must not be empty.") { Target = stops };
        }

        if (request.JsonSchema is { } schema && SchemaProblem(request, schema) is { } problem)
        {
            throw new LlmTasksException(ErrorIds.InvalidJsonSchema, LlmErrorCategory.InvalidArgument,
                $"-JsonSchema is not a valid JSON Schema: {problem}. Give a JSON Schema object, for example @{{ type = 'object'; properties = @{{ answer = @{{ type = 'string' }} }} }}.")
            { Target = schema };
        }
    }

    /// <summary>How long a call may take: -TimeoutSec, capped for requests stored before it was checked (a longer timer cannot be set).</summary>
    public static TimeSpan? Timeout(LlmTaskRequest request) =>
        request.TimeoutSec is { } s && s > 0 ? TimeSpan.FromSeconds(double.IsFinite(s) ? Math.Min(s, MaxTimeoutSec) : MaxTimeoutSec) : null;

    private static string? SchemaProblem(LlmTaskRequest request, string text)
    {
        try
        {
            var root = request.ParsedJsonSchema!.Value; // parsed once: the calls use the same element
            if (root.ValueKind != System.Text.Json.JsonValueKind.Object)
            {
                return "it must be a JSON object, as text, a hashtable or a .json file";
            }

            if (JsonSchemaShape.Problem(root) is { } shape)
            {
                return shape;
            }
        }
        catch (System.Text.Json.JsonException e)
        {
            return $"it is not JSON ({e.Message})";
        }

        try
        {
            NJsonSchema.JsonSchema.FromJsonAsync(text).GetAwaiter().GetResult(); // $ref targets and the rest NJsonSchema resolves
            return null;
        }
        catch (Exception e) when (e is Newtonsoft.Json.JsonException or InvalidOperationException or ArgumentException or NotSupportedException)
        {
            return e.Message.TrimEnd('.');
        }
    }
}

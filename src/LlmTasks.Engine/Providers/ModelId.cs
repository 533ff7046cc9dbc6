namespace LlmTasks.Providers;

/// <summary>A LiteLLM-style model string: <c>provider/model</c>, e.g. <c>openai/gpt-4o-mini</c> or <c>mock/delay:250</c>.</summary>
public readonly record struct ModelId(string Provider, string Model)
{
    public const string DefaultProviderVariable = "LLMTASKS_DEFAULT_PROVIDER";

    /// <summary>
    /// Splits at the first '/'. A string with no prefix takes <paramref name="defaultProvider"/> (a new task's
    /// $env:LLMTASKS_DEFAULT_PROVIDER, read once by the registry); a stored task's model is always whole, so a
    /// resumed task is routed by what was stored, never by the environment of the process that resumes it.
    /// </summary>
    public static ModelId Parse(string? text, IReadOnlyCollection<string> knownProviders, string? defaultProvider = null)
    {
        var value = text?.Trim() ?? string.Empty;
        var slash = value.IndexOf('/');
        if (slash < 0)
        {
            if (value.Length > 0 && !string.IsNullOrWhiteSpace(defaultProvider))
            {
                return Parse($"{defaultProvider.Trim().TrimEnd('/')}/{value}", knownProviders);
            }

            throw new LlmTasksException(ErrorIds.InvalidModel, LlmErrorCategory.InvalidArgument,
                $"The model '{value}' has no provider prefix. Write it as provider/model with one of: {string.Join(", ", knownProviders.Select(p => p + "/"))} " +
                $"(for example mock/echo or openai/gpt-4o-mini), or set $env:{DefaultProviderVariable}.") { Target = text };
        }

        var provider = value[..slash].ToLowerInvariant();
        var model = value[(slash + 1)..];
        if (provider.Length == 0 || model.Length == 0)
        {
            throw new LlmTasksException(ErrorIds.InvalidModel, LlmErrorCategory.InvalidArgument,
                $"The model '{value}' is incomplete: write it as provider/model, for example mock/echo.") { Target = text };
        }

        return new ModelId(provider, model);
    }

    public override string ToString() => $"{Provider}/{Model}";
}

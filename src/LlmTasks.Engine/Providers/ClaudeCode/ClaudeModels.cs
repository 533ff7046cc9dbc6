namespace LlmTasks.Providers.ClaudeCode;

/// <summary>
/// Which model names the CLI gets: the aliases opus, sonnet and haiku (the CLI maps them to its
/// current models) and full claude-* names pass through; anything else is refused before the task is
/// stored, because the CLI would only fail later with a less helpful message.
/// </summary>
internal static class ClaudeModels
{
    private static readonly string[] Aliases = ["opus", "sonnet", "haiku"];

    public static bool TryToCli(string model, out string cliModel)
    {
        var name = model.Trim();
        var lower = name.ToLowerInvariant();
        if (Aliases.Contains(lower))
        {
            cliModel = lower;
            return true;
        }

        if (lower.StartsWith("claude-", StringComparison.Ordinal) && lower.Length > "claude-".Length
            && lower.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or '_' or '[' or ']'))
        {
            cliModel = name;
            return true;
        }

        cliModel = string.Empty;
        return false;
    }

    public static string ToCli(ModelId model) => TryToCli(model.Model, out var cli)
        ? cli
        : throw new LlmTasksException(ErrorIds.InvalidModel, LlmErrorCategory.InvalidArgument,
            $"The Claude Code CLI does not know the model '{model.Model}'. Use max/opus, max/sonnet, max/haiku or a full name such as max/claude-sonnet-4-5.")
        { Target = model.ToString() };
}

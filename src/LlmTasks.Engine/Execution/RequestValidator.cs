namespace LlmTasks.Execution;

/// <summary>Checks a request before it is stored, so a bad one never becomes a task.</summary>
internal static class RequestValidator
{
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

        if (request.TimeoutSec is { } timeout && (timeout <= 0 || double.IsNaN(timeout) || double.IsInfinity(timeout)))
        {
            throw new LlmTasksException(ErrorIds.InvalidTimeout, LlmErrorCategory.InvalidArgument,
                $"-TimeoutSec must be a positive number of seconds; got {timeout}.") { Target = timeout };
        }

        if (request.Temperature is { } temperature && (temperature < 0 || temperature > 2 || double.IsNaN(temperature)))
        {
            throw new LlmTasksException(ErrorIds.InvalidOption, LlmErrorCategory.InvalidArgument,
                $"-Temperature must be between 0 and 2; got {temperature}.") { Target = temperature };
        }

        if (request.JsonSchema is { } schema && !IsJsonObject(schema))
        {
            throw new LlmTasksException(ErrorIds.InvalidOption, LlmErrorCategory.InvalidArgument,
                "-JsonSchema must be a JSON object (a JSON Schema), as text, a hashtable or a .json file.") { Target = schema };
        }

        if (request.MaxTokens is { } maxTokens && maxTokens <= 0)
        {
            throw new LlmTasksException(ErrorIds.InvalidOption, LlmErrorCategory.InvalidArgument,
                $"-MaxTokens must be a positive number; got {maxTokens}.") { Target = maxTokens };
        }
    }

    private static bool IsJsonObject(string text)
    {
        try
        {
            using var document = System.Text.Json.JsonDocument.Parse(text);
            return document.RootElement.ValueKind == System.Text.Json.JsonValueKind.Object;
        }
        catch (System.Text.Json.JsonException)
        {
            return false;
        }
    }
}

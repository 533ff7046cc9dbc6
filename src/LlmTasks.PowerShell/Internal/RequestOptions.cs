using System.Globalization;
using LlmTasks.Providers;
using LlmTasks.Verification;

namespace LlmTasks.PowerShell.Internal;

/// <summary>
/// The request options a user gave Start-LlmTask (on the command line or by property name) or
/// Restart-LlmTask; null means not given. They make a new request, or change a stored one
/// (Start-LlmTask -Continue, Restart-LlmTask), with the same checks either way.
/// </summary>
internal sealed record RequestOptions
{
    public const string DefaultModelVariable = "LLMTASKS_DEFAULT_MODEL";

    public string? Model { get; init; }
    public string? System { get; init; }
    public string? Name { get; init; }
    public double? Temperature { get; init; }
    public int? MaxTokens { get; init; }
    public decimal? MaxCostUsd { get; init; }
    public double? TimeoutSec { get; init; }
    public string[]? MockResponse { get; init; }
    public string[]? StopSequence { get; init; }
    public string? ResponseFormat { get; init; }
    public object? JsonSchema { get; init; }
    public string? ApiBase { get; init; }
    public object? McpConfig { get; init; }
    public string[]? AllowedTools { get; init; }
    public string? WorkingDirectory { get; init; }
    public int? MaxTurns { get; init; }
    public string[]? Fallback { get; init; }
    public string[]? FallbackOn { get; init; }

    /// <summary>A new request for these messages (the system prompt goes first): what is not given takes its default.</summary>
    public LlmTaskRequest NewRequest(IReadOnlyList<LlmMessage> messages, VerificationPlan? plan, bool apiKeyGiven, Func<string, string> resolvePath)
    {
        var model = Model ?? Environment.GetEnvironmentVariable(DefaultModelVariable);
        if (string.IsNullOrWhiteSpace(model))
        {
            throw new LlmTasksException(ErrorRecords.NoModel, LlmErrorCategory.InvalidArgument,
                $"No model given: pass -Model provider/model (for example -Model mock/echo) or set $env:{DefaultModelVariable}.");
        }

        var all = new List<LlmMessage>();
        if (!string.IsNullOrEmpty(System))
        {
            all.Add(new LlmMessage(LlmRole.System, System));
        }

        all.AddRange(messages);
        // Apply keeps what it does not set (one copy of the request per prompt, not two).
        return Apply(new LlmTaskRequest { Model = model.Trim(), Messages = all, Verification = plan, ApiKeyGiven = apiKeyGiven }, resolvePath);
    }

    /// <summary>
    /// The request with every given option replacing what it had: -System replaces the system prompt,
    /// -MockResponse the offline answer(s), max/* options are merged into the provider options.
    /// </summary>
    public LlmTaskRequest Apply(LlmTaskRequest request, Func<string, string> resolvePath)
    {
        var model = Model?.Trim() ?? request.Model;
        var messages = request.Messages;
        if (System is not null && (messages.Count == 0 || messages[0].Role != LlmRole.System || messages[0].Content != System))
        {
            messages = [new LlmMessage(LlmRole.System, System), .. messages.Where(m => m.Role != LlmRole.System)];
        }

        return request with
        {
            Model = model,
            Messages = messages,
            Name = Name ?? request.Name,
            Temperature = Temperature ?? request.Temperature,
            MaxTokens = MaxTokens ?? request.MaxTokens,
            MaxCostUsd = MaxCostUsd ?? request.MaxCostUsd,
            TimeoutSec = TimeoutSec ?? request.TimeoutSec,
            MockResponse = MockResponse is null ? request.MockResponse : MockResponse.Length == 1 ? MockResponse[0] : null,
            StopSequences = StopSequence is null ? request.StopSequences : Checked(StopSequence),
            ResponseFormat = ResponseFormat is null ? request.ResponseFormat : ParseFormat(ResponseFormat),
            JsonSchema = JsonSchema is null ? request.JsonSchema : PowerShellJson.FromValue(JsonSchema, nameof(JsonSchema), resolvePath),
            ApiBase = ApiBase ?? request.ApiBase,
            Fallbacks = Fallback is null ? request.Fallbacks : Checked(Fallback, nameof(Fallback)),
            FallbackOn = FallbackOn is null ? request.FallbackOn : Checked(FallbackOn, nameof(FallbackOn)),
            ProviderOptions = ProviderOptions(request.ProviderOptions, model, resolvePath),
        };
    }

    /// <summary>The max/* options and the mock/sequence answers, typed as the providers read them.</summary>
    private ProviderOptions? ProviderOptions(ProviderOptions? had, string model, Func<string, string> resolvePath)
    {
        if (McpConfig is null && AllowedTools is null && WorkingDirectory is null && MaxTurns is null && MockResponse is null)
        {
            return had;
        }

        if (MaxTurns is { } turns && turns is < 1 or > 1000)
        {
            throw new LlmTasksException(ErrorIds.InvalidMaxTurns, LlmErrorCategory.InvalidArgument,
                $"-MaxTurns must be a whole number from 1 to 1000; got {turns}.") { Target = turns };
        }

        if (MockResponse is { Length: > 1 } && !string.Equals(model, "mock/sequence", StringComparison.OrdinalIgnoreCase))
        {
            throw new LlmTasksException(ErrorIds.InvalidOption, LlmErrorCategory.InvalidArgument,
                "Several -MockResponse values (one per attempt) need -Model mock/sequence.");
        }

        var options = (had ?? new ProviderOptions()).With(new ProviderOptions
        {
            AllowedTools = AllowedTools is { Length: > 0 } ? Checked(AllowedTools, nameof(AllowedTools)) : null,
            WorkingDirectory = WorkingDirectory is null ? null : resolvePath(WorkingDirectory),
            MaxTurns = MaxTurns,
        }).With(McpConfig is null ? null : McpConfigValue.ToOption(McpConfig, nameof(McpConfig), resolvePath));
        if (MockResponse is not null)
        {
            // Given again: one answer is -MockResponse itself, several are the sequence's.
            options = options with { MockResponses = MockResponse.Length > 1 ? MockResponse : null };
        }

        return options.IsEmpty ? null : options;
    }

    private static LlmResponseFormat ParseFormat(string format) =>
        Enum.TryParse<LlmResponseFormat>(format, ignoreCase: true, out var parsed) && Enum.IsDefined(parsed) && !int.TryParse(format, out _)
            ? parsed
            : throw new LlmTasksException(ErrorIds.InvalidOption, LlmErrorCategory.InvalidArgument,
                $"-ResponseFormat must be Text or Json; got '{format}'.") { Target = format };

    private static string[] Checked(string[] values, string parameter = "StopSequence") =>
        values.Any(string.IsNullOrEmpty)
            ? throw new LlmTasksException(ErrorIds.InvalidOption, LlmErrorCategory.InvalidArgument,
                $"-{parameter} has an empty value: give each one some text.") { Target = values }
            : values;
}

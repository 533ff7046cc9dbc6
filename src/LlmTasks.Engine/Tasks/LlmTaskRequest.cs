namespace LlmTasks;

/// <summary>
/// What a task asks of a model. Stored as JSON with the task; it never holds secrets
/// (API keys are resolved when the task runs, from the environment or the caller's process).
/// </summary>
public sealed record LlmTaskRequest
{
    public required string Model { get; init; }
    public required IReadOnlyList<LlmMessage> Messages { get; init; }
    public string? Name { get; init; }
    public double? Temperature { get; init; }
    public int? MaxTokens { get; init; }
    /// <summary>Time allowed for one model call; null means no limit.</summary>
    public double? TimeoutSec { get; init; }
    /// <summary>When set, the task answers with this text without any network, whatever the model.</summary>
    public string? MockResponse { get; init; }

    public IReadOnlyList<string>? StopSequences { get; init; }

    /// <summary>Text (the default) or Json; a <see cref="JsonSchema"/> implies Json.</summary>
    public LlmResponseFormat ResponseFormat { get; init; }

    /// <summary>A JSON schema (as JSON text) the output must follow, sent with each provider's native structured-output feature.</summary>
    public string? JsonSchema { get; init; }

    /// <summary>Overrides the provider's base URL for this task (never a secret: keys travel in <see cref="TaskSecrets"/>).</summary>
    public string? ApiBase { get; init; }

    /// <summary>
    /// The task was started with its own key (-ApiKey). The key is never stored; this flag is, so that a
    /// process resuming the task without the key does not send its own (environment) key to the task's -ApiBase.
    /// </summary>
    public bool ApiKeyGiven { get; init; }

    /// <summary>Provider-specific options (the Claude Code CLI's MCP config, allowed tools, working directory, max turns; mock/sequence's answers), typed.</summary>
    public ProviderOptions? ProviderOptions { get; init; }

    /// <summary>
    /// Send the request in a provider batch (Start-LlmTask -AsBatch) rather than as a call of its own: the provider's batch
    /// price (half the live one, for OpenAI and Anthropic), an answer within the provider's window (24 h) instead of at once.
    /// </summary>
    public bool Batch { get; init; }

    /// <summary>What the output must pass, and the re-ask / review policy (Start-LlmTask -Verify); null: no verification.</summary>
    public Verification.VerificationPlan? Verification { get; init; }

    /// <summary>
    /// The most the task may cost in US dollars (-MaxCostUsd), everything it has cost counted (attempts, retries, fallbacks,
    /// re-asks, judge calls, earlier runs): a call that would take it past the cap is not made and the task ends Failed with
    /// ErrorKind CostLimit. Null: no cap. Unpriced models cost nothing here.
    /// </summary>
    public decimal? MaxCostUsd { get; init; }

    /// <summary>Models tried in order when a call still fails after its retries with one of <see cref="FallbackOn"/>'s kinds (-Fallback); stored whole.</summary>
    public IReadOnlyList<string>? Fallbacks { get; init; }

    /// <summary>The error kinds that move a call to the next fallback model (-FallbackOn); null: <see cref="Execution.Fallbacks.DefaultKinds"/>.</summary>
    public IReadOnlyList<string>? FallbackOn { get; init; }

    /// <summary>
    /// The signature of the user who started or restarted the task (an HMAC with the key private to that user, over the whole
    /// request; see Security.RequestSignature). Stored with the request; it holds no secret.
    /// </summary>
    internal string? Signature { get; init; }

    /// <summary>
    /// True when the request was read from the store without a signature this process can verify, or was made from such a
    /// request (-Continue, a restart with changes): it may then decide only what this process's own configuration allows
    /// (docs/security.md, "Trust model"). Requests made in this process by its caller are not foreign. Never stored.
    /// </summary>
    internal bool Foreign { get; init; }

    /// <summary>Why a foreign request is not trusted, for error messages (no signature, another key, changed after signing).</summary>
    internal string? ForeignReason { get; init; }

    public bool WantsJson => ResponseFormat == LlmResponseFormat.Json || JsonSchema is not null;

    private (string Text, System.Text.Json.JsonElement Element)? _schema;

    /// <summary>
    /// <see cref="JsonSchema"/> parsed, once per request (every call, re-ask and check of the task shares it); null
    /// without a schema. Throws <see cref="System.Text.Json.JsonException"/> for text that is not JSON (refused when a task is created).
    /// </summary>
    internal System.Text.Json.JsonElement? ParsedJsonSchema
    {
        get
        {
            if (JsonSchema is not { } text)
            {
                return null;
            }

            if (_schema is { } cached && ReferenceEquals(cached.Text, text))
            {
                return cached.Element;
            }

            using var document = System.Text.Json.JsonDocument.Parse(text);
            var element = document.RootElement.Clone();
            _schema = (text, element);
            return element;
        }
    }

    /// <summary>The last user message: what lists and previews show as the task's prompt.</summary>
    public string Prompt => Messages.LastOrDefault(m => m.Role == LlmRole.User)?.Content ?? string.Empty;
}

namespace LlmTasks.Providers.ClaudeCode;

/// <summary>How the <c>max/</c> provider finds and runs the Claude Code CLI.</summary>
public sealed record ClaudeCodeOptions
{
    /// <summary>The full path of the claude executable, over <c>claude</c> on PATH.</summary>
    public const string PathVariable = "LLMTASKS_CLAUDE_PATH";

    /// <summary>Set to 1 to let the CLI see ANTHROPIC_API_KEY (pay-as-you-go API billing instead of the subscription login).</summary>
    public const string UseApiKeyVariable = "LLMTASKS_CLAUDE_USE_API_KEY";

    /// <summary>Calls at once per process: each call is a CLI process (about 0.5 s of start-up and a few hundred MB).</summary>
    public int DefaultConcurrency { get; init; } = 3;

    /// <summary>Tests: the executable to run, instead of resolving it from the environment.</summary>
    internal string? ExecutablePath { get; init; }

    /// <summary>The most bytes the CLI may write on stdout for one call (ProviderEnvironment.MaxAnswerBytes, $env:LLMTASKS_MAX_ANSWER_MB).</summary>
    internal long MaxOutputBytes => MaxOutputBytesOverride ?? Http.ProviderEnvironment.Process.MaxAnswerBytes;

    /// <summary>Tests: the cap on the CLI's stdout, instead of the environment's.</summary>
    internal long? MaxOutputBytesOverride { get; init; }

    /// <summary>Tests: where the trust settings ($env:LLMTASKS_TRUSTED_*) and the CLI's own base URL are read, instead of the process environment.</summary>
    internal Http.ProviderEnvironment? Settings { get; init; }

    /// <summary>Tests: variables set (or, with a null value, removed) in the child's environment after everything else.</summary>
    internal IReadOnlyDictionary<string, string?>? Environment { get; init; }
}

namespace LlmTasks.Providers.ClaudeCode;

/// <summary>
/// The child's environment: the parent's, with ANTHROPIC_API_KEY removed (the CLI then uses the
/// user's subscription login or CLAUDE_CODE_OAUTH_TOKEN) unless $env:LLMTASKS_CLAUDE_USE_API_KEY=1 or
/// the task has its own -ApiKey, CLAUDE_CODE_MAX_RETRIES=0 (the engine owns retries), and the task's
/// -ApiBase as ANTHROPIC_BASE_URL. The CLI waits up to <see cref="McpConnectWait"/> for the task's MCP servers before its first
/// request (MCP_CONNECTION_NONBLOCKING=0, MCP_CONNECT_TIMEOUT_MS), unless $env: says otherwise: by default it connects them in
/// the background and sends the first request without tools from a server still starting (a loaded machine, an npx
/// download), so a task asked to write a file through its MCP server answered without having written it.
/// </summary>
internal static class ClaudeEnvironment
{
    /// <summary>Credentials the CLI takes from the environment it inherits (ANTHROPIC_API_KEY is handled on its own).</summary>
    private static readonly string[] InheritedTokens = ["CLAUDE_CODE_OAUTH_TOKEN", "ANTHROPIC_AUTH_TOKEN"];

    /// <summary>
    /// A foreign request (read from the store without this user's signature) may point the CLI, and the login it inherits, only at an
    /// endpoint this process trusts: its own $env:ANTHROPIC_BASE_URL, Anthropic's default, or $env:LLMTASKS_TRUSTED_API_BASES.
    /// </summary>
    public static void RequireTrustedBaseUrl(ProviderCallContext context, ClaudeCodeOptions options)
    {
        if (!context.Request.Foreign || string.IsNullOrWhiteSpace(context.Request.ApiBase))
        {
            return;
        }

        var text = context.Request.ApiBase.Trim();
        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            throw new LlmTasksException(ErrorIds.InvalidApiBase, LlmErrorCategory.InvalidArgument,
                $"The base URL for max/ from -ApiBase is not an absolute http(s) URL: '{text}'.") { Target = text };
        }

        var settings = options.Settings ?? Http.ProviderEnvironment.Process;
        Security.TrustedEndpoints.Require(context, "max", uri,
            [(settings.Get(BaseUrlVariable), "$env:" + BaseUrlVariable), (Anthropic.AnthropicProvider.DefaultBaseUrl, "the provider's default")], settings);
    }

    private const string BaseUrlVariable = "ANTHROPIC_BASE_URL";

    private const string McpConnectVariable = "MCP_CONNECT_TIMEOUT_MS";
    private const string McpNonBlockingVariable = "MCP_CONNECTION_NONBLOCKING";

    /// <summary>How long the CLI waits for MCP servers to connect: the CLI's own limit for one MCP server start (MCP_TIMEOUT).</summary>
    internal static readonly TimeSpan McpConnectWait = TimeSpan.FromSeconds(30);

    public static Dictionary<string, string?> For(ProviderCallContext context, ClaudeCodeOptions options)
    {
        var env = new Dictionary<string, string?>(StringComparer.Ordinal)
        {
            ["CLAUDE_CODE_MAX_RETRIES"] = "0",
        };

        if (Configuration.EngineEnvironment.Process.Raw(McpNonBlockingVariable) is null)
        {
            env[McpNonBlockingVariable] = "0";
        }

        if (Configuration.EngineEnvironment.Process.Raw(McpConnectVariable) is null)
        {
            env[McpConnectVariable] = ((long)McpConnectWait.TotalMilliseconds).ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        var useKey = Configuration.EngineEnvironment.Process.Text(ClaudeCodeOptions.UseApiKeyVariable) is "1" or "true" or "True" or "TRUE";
        // The CLI reads its tokens from the environment it inherits: whatever it may echo is redacted like any key.
        foreach (var token in InheritedTokens)
        {
            Diagnostics.Secrets.Remember(Configuration.EngineEnvironment.Process.Raw(token));
        }

        if (context.Secrets?.ApiKey is { Length: > 0 } key)
        {
            env["ANTHROPIC_API_KEY"] = key;
            Diagnostics.Secrets.Remember(key);
        }
        else if (!useKey)
        {
            env["ANTHROPIC_API_KEY"] = null;
        }
        else
        {
            Diagnostics.Secrets.Remember(Configuration.EngineEnvironment.Process.Raw("ANTHROPIC_API_KEY"));
        }

        if (Http.ProviderEnvironment.RefuseOtherKeysFor(context))
        {
            throw new LlmTasksException(ErrorIds.MissingApiKey, LlmErrorCategory.InvalidArgument,
                $"Task {context.TaskId} was started with its own -ApiKey for its -ApiBase; keys are never stored, and the CLI's own login will not be sent there. Start the task again with -ApiKey.");
        }

        if (!string.IsNullOrWhiteSpace(context.Request.ApiBase))
        {
            env["ANTHROPIC_BASE_URL"] = context.Request.ApiBase.Trim();
        }

        foreach (var (name, value) in options.Environment ?? new Dictionary<string, string?>())
        {
            env[name] = value;
        }

        return env;
    }
}

namespace LlmTasks.Providers.Http;

/// <summary>
/// Where an HTTP provider finds its base URL and key when a task runs: the task's own
/// <c>-ApiBase</c> and <c>-ApiKey</c> first, then environment variables, then the provider's default.
/// Tests pass their own variable lookup instead of the process environment.
/// </summary>
public sealed class ProviderEnvironment(Func<string, string?>? lookup = null)
{
    private readonly Func<string, string?> _lookup = lookup ?? Configuration.EngineEnvironment.Process.Raw;

    public static ProviderEnvironment Process { get; } = new();

    /// <summary>The cap on one answer's size in MB: $env:LLMTASKS_MAX_ANSWER_MB, else 16.</summary>
    public const string MaxAnswerVariable = "LLMTASKS_MAX_ANSWER_MB";

    public const int DefaultMaxAnswerMb = 16;

    /// <summary>
    /// The most bytes one answer may have (an HTTP body, or the Claude Code CLI's output): larger ones fail as
    /// ResponseTooLarge while they are read, so memory stays bounded. A positive number of MB (decimals allowed).
    /// </summary>
    public long MaxAnswerBytes =>
        double.TryParse(Get(MaxAnswerVariable), System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var mb) && mb > 0 && mb < 1024 * 1024
            ? (long)(mb * 1024 * 1024)
            : DefaultMaxAnswerMb * 1024L * 1024;

    /// <summary>Endpoints (base URLs) a stored request this user's key does not vouch for may send this process's keys to, besides its own.</summary>
    public const string TrustedApiBasesVariable = "LLMTASKS_TRUSTED_API_BASES";

    /// <summary>max/*: the tool rules such a stored request may let the Claude Code CLI use (comma-separated; * for any).</summary>
    public const string TrustedToolsVariable = "LLMTASKS_TRUSTED_TOOLS";

    /// <summary>max/*: folders (separated as in PATH) such a request's working directory and MCP config file may be in.</summary>
    public const string TrustedFoldersVariable = "LLMTASKS_TRUSTED_FOLDERS";

    /// <summary>The file holding the key that signs requests (default: the user's config folder); a team may point it at a shared key.</summary>
    public const string SigningKeyFileVariable = "LLMTASKS_SIGNING_KEY_FILE";

    /// <summary>The entries of $env:LLMTASKS_TRUSTED_API_BASES (separated by spaces, commas or semicolons).</summary>
    public IReadOnlyList<string> TrustedApiBases => Split(Get(TrustedApiBasesVariable), [' ', ',', ';', '\t', '\n', '\r']);

    /// <summary>The rules of $env:LLMTASKS_TRUSTED_TOOLS (comma-separated, as -AllowedTools takes them: a rule may hold spaces).</summary>
    public IReadOnlyList<string> TrustedTools => Split(Get(TrustedToolsVariable), [',']);

    /// <summary>The folders of $env:LLMTASKS_TRUSTED_FOLDERS, full paths (separated by ':' on Unix and ';' on Windows, as in PATH).</summary>
    public IReadOnlyList<string> TrustedFolders => Split(Get(TrustedFoldersVariable), [Path.PathSeparator])
        .Where(Path.IsPathRooted).Select(f => Path.TrimEndingDirectorySeparator(Path.GetFullPath(f))).ToArray();

    /// <summary>
    /// Where the request-signing key is: $env:LLMTASKS_SIGNING_KEY_FILE, else LlmTasks/request-signing.key in the user's config
    /// folder ($XDG_CONFIG_HOME, else ~/.config; %APPDATA% on Windows). Null when no such folder is known.
    /// </summary>
    public string? SigningKeyFile
    {
        get
        {
            if (Get(SigningKeyFileVariable) is { } given)
            {
                return Path.GetFullPath(given);
            }

            string? folder;
            if (OperatingSystem.IsWindows())
            {
                folder = Environment.GetFolderPath(Environment.SpecialFolder.ApplicationData);
            }
            else if (Get("XDG_CONFIG_HOME") is { } xdg && Path.IsPathRooted(xdg))
            {
                folder = xdg;
            }
            else
            {
                var home = Get("HOME") ?? Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
                folder = string.IsNullOrEmpty(home) ? null : Path.Combine(home, ".config");
            }

            return string.IsNullOrEmpty(folder) ? null : Path.Combine(folder, "LlmTasks", "request-signing.key");
        }
    }

    private static string[] Split(string? text, char[] separators) =>
        text is null ? [] : text.Split(separators, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <summary>The value of a variable, or null when it is unset or blank.</summary>
    public string? Get(string variable) => _lookup(variable) is { } value && !string.IsNullOrWhiteSpace(value) ? value.Trim() : null;

    /// <summary>The task's -ApiKey, else the variable; null when neither is set. A key read here is redacted from then on.</summary>
    public string? Key(ProviderCallContext context, string variable)
    {
        var key = context.Secrets?.ApiKey is { Length: > 0 } own ? own
            : RefuseOtherKeysFor(context) ? null
            : Get(variable);
        Diagnostics.Secrets.Remember(key);
        return key;
    }

    /// <summary>
    /// A task started with its own -ApiKey and its own -ApiBase, resumed where that key is not in memory:
    /// this process's key must not go to that URL, so there is no key.
    /// </summary>
    internal static bool RefuseOtherKeysFor(ProviderCallContext context) =>
        context.Request.ApiKeyGiven && !string.IsNullOrWhiteSpace(context.Request.ApiBase) && context.Secrets?.ApiKey is not { Length: > 0 };

    /// <summary>The task's -ApiKey, else the variable; a clear failure naming the variable when neither is set.</summary>
    public string RequireKey(ProviderCallContext context, string variable, string provider) =>
        Key(context, variable) ?? throw new LlmTasksException(ErrorIds.MissingApiKey, LlmErrorCategory.InvalidArgument,
            RefuseOtherKeysFor(context)
                ? $"Task {context.TaskId} was started with its own -ApiKey for its -ApiBase; keys are never stored, and this process will not send $env:{variable} there. Start the task again with -ApiKey."
                : $"No API key for {provider}/: set $env:{variable} (in the environment of the process that runs the task) or give Start-LlmTask -ApiKey.")
        { Target = provider };

    /// <summary>
    /// The task's -ApiBase, else the first variable that is set, else the default; it must be an absolute http(s) URL. A task's
    /// -ApiBase read from the store without this user's signature must be one this process trusts (<see cref="Security.TrustedEndpoints"/>).
    /// </summary>
    public Uri BaseUrl(ProviderCallContext context, string provider, string? fallback, params string[] variables)
    {
        var text = context.Request.ApiBase;
        var source = "-ApiBase";
        foreach (var variable in variables)
        {
            if (text is not null)
            {
                break;
            }

            text = Get(variable);
            source = "$env:" + variable;
        }

        text ??= fallback;
        if (text is null)
        {
            throw new LlmTasksException(ErrorIds.InvalidApiBase, LlmErrorCategory.InvalidArgument,
                $"No endpoint for {provider}/: set $env:{string.Join(" or $env:", variables)} or give Start-LlmTask -ApiBase.") { Target = provider };
        }

        if (!Uri.TryCreate(text.Trim(), UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            throw new LlmTasksException(ErrorIds.InvalidApiBase, LlmErrorCategory.InvalidArgument,
                $"The base URL for {provider}/ from {source} is not an absolute http(s) URL: '{text}'.") { Target = text };
        }

        if (source == "-ApiBase")
        {
            // A stored endpoint this user's key does not vouch for gets this process's key only if its own configuration names it.
            Security.TrustedEndpoints.Require(context, provider, uri, [.. variables.Select(v => (Get(v), "$env:" + v)), (fallback, "the provider's default")], this);
        }

        return uri;
    }
}

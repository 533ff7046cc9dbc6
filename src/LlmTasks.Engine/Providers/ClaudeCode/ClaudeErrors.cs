namespace LlmTasks.Providers.ClaudeCode;

/// <summary>
/// Names the cause of a failed CLI run from its result object, exit code and stderr. The CLI reports
/// API failures as <c>"is_error":true</c> (often with <c>"subtype":"success"</c>), exit code 1 and an
/// empty stderr, so is_error is the only reliable test; the message always carries the CLI's own words.
/// </summary>
internal static partial class ClaudeErrors
{
    private const int TailChars = 2000;

    public static ClaudeCodeException FromResult(ClaudeResult result, int exitCode, string stderr, int? maxTurns)
    {
        var said = result.Result ?? (result.Errors.Count > 0 ? string.Join("; ", result.Errors) : "(no message)");
        var facts = $"subtype {result.Subtype ?? "?"}, api_error_status {(result.ApiErrorStatus?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "none")}, exit code {exitCode}";
        string Message(string what) => $"{what}: {said} ({facts}).{StderrTail(stderr)}";
        var text = said.ToLowerInvariant();

        if (result.Subtype == "error_max_turns" || result.TerminalReason == "max_turns")
        {
            var limit = maxTurns is { } n ? $" (-MaxTurns {n})" : string.Empty;
            return new(ClaudeErrorKinds.MaxTurns, LlmErrorCategory.InvalidResult,
                Message($"The Claude Code CLI stopped at its turn limit{limit} before the model finished"));
        }

        switch (result.ApiErrorStatus)
        {
            case 401 or 403:
                return new(ClaudeErrorKinds.AuthenticationFailed, LlmErrorCategory.PermissionDenied,
                    Message("The Claude API refused the CLI's credentials (log in again with 'claude', or check $env:CLAUDE_CODE_OAUTH_TOKEN)"));
            case 429 when UsageLimit().IsMatch(result.Result ?? string.Empty):
                // A subscription's usage limit is not lifted by retrying in a few seconds. (The CLI's plain
                // rate-limit message says "not your usage limit": that one is transient.)
                return new(ClaudeErrorKinds.QuotaExceeded, LlmErrorCategory.ResourceUnavailable, Message("The Claude subscription's usage limit is reached; not retried"));
            case 429:
                return new(ClaudeErrorKinds.RateLimited, LlmErrorCategory.ResourceUnavailable, Message("The Claude API is rate limiting requests"), transient: true);
            case 529:
                return new(ClaudeErrorKinds.Overloaded, LlmErrorCategory.ResourceUnavailable, Message("The Claude API is overloaded"), transient: true);
            case >= 500:
                return new(ClaudeErrorKinds.ServerError, LlmErrorCategory.ResourceUnavailable, Message("The Claude API had a server error"), transient: true);
            case 408:
                return new(ClaudeErrorKinds.ConnectionFailed, LlmErrorCategory.ResourceUnavailable, Message("The Claude API timed out"), transient: true);
            case >= 400:
                return new(ClaudeErrorKinds.ProviderError, LlmErrorCategory.InvalidArgument, Message("The Claude API refused the request"));
        }

        if (text.Contains("not logged in") || text.Contains("/login"))
        {
            return new(ClaudeErrorKinds.NotLoggedIn, LlmErrorCategory.PermissionDenied,
                Message("The Claude Code CLI is not logged in (run 'claude' once and /login, or set $env:CLAUDE_CODE_OAUTH_TOKEN from 'claude setup-token')"));
        }

        if (text.Contains("unable to connect") || text.Contains("connectionrefused") || text.Contains("econnrefused")
            || text.Contains("connection error") || text.Contains("fetch failed") || text.Contains("timed out") || text.Contains("econnreset"))
        {
            return new(ClaudeErrorKinds.ConnectionFailed, LlmErrorCategory.ResourceUnavailable, Message("The Claude Code CLI could not reach the Claude API"), transient: true);
        }

        return new(ClaudeErrorKinds.ProviderError, LlmErrorCategory.InvalidResult, Message("The Claude Code CLI reported an error"));
    }

    public static ClaudeCodeException NoResult(int exitCode, string stdout, string stderr)
    {
        if (exitCode != 0)
        {
            var said = LastLines(stdout);
            return new(ClaudeErrorKinds.CliFailed, LlmErrorCategory.InvalidResult,
                $"The Claude Code CLI exited with code {exitCode} without a result.{(said.Length > 0 ? " stdout: " + said : string.Empty)}{StderrTail(stderr)}");
        }

        var head = stdout.Trim();
        head = head.Length == 0 ? "(nothing)" : head.Length > 300 ? head[..300] + "…" : head;
        return new(ClaudeErrorKinds.InvalidOutput, LlmErrorCategory.InvalidData,
            $"The Claude Code CLI's output has no result object to read (expected JSON from --output-format json); it wrote: {head}{StderrTail(stderr)}");
    }

    public static string StderrTail(string stderr)
    {
        var tail = stderr.Trim();
        if (tail.Length == 0)
        {
            return string.Empty;
        }

        return " stderr: " + (tail.Length > TailChars ? "…" + tail[^TailChars..] : tail);
    }

    private static string LastLines(string text)
    {
        var t = text.Trim();
        return t.Length > 500 ? "…" + t[^500..] : t;
    }


    [System.Text.RegularExpressions.GeneratedRegex(@"(?<!not your )usage limit|limit reached|quota|billing|credit balance", System.Text.RegularExpressions.RegexOptions.IgnoreCase)]
    private static partial System.Text.RegularExpressions.Regex UsageLimit();
}

namespace LlmTasks.Providers.ClaudeCode;

/// <summary>
/// A failed CLI call. <see cref="LlmTasksException.ErrorId"/> is the kind the task shows as ErrorKind
/// (RateLimited, Overloaded, AuthenticationFailed …); the message carries the CLI's own words.
/// </summary>
public sealed class ClaudeCodeException : LlmTasksException
{
    public ClaudeCodeException(string kind, LlmErrorCategory category, string message, bool transient = false, Exception? inner = null)
        : base(kind, category, message, inner)
    {
        IsTransient = transient;
    }
}

/// <summary>The ErrorKind values the max/ provider reports.</summary>
public static class ClaudeErrorKinds
{
    public const string CliNotFound = "CliNotFound";
    public const string NotLoggedIn = "NotLoggedIn";
    public const string AuthenticationFailed = "AuthenticationFailed";
    public const string RateLimited = "RateLimited";
    public const string QuotaExceeded = "QuotaExceeded";
    public const string Overloaded = "Overloaded";
    public const string ServerError = "ServerError";
    public const string ConnectionFailed = "ConnectionFailed";
    public const string MaxTurns = "MaxTurns";
    public const string ProviderError = "ProviderError";
    public const string CliFailed = "CliFailed";
    public const string InvalidOutput = "InvalidOutput";
    public const string InvalidJson = "InvalidJson";
    public const string InvalidOption = "InvalidOption";
    public const string ResponseTooLarge = "ResponseTooLarge";
}

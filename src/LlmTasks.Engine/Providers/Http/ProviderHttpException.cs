namespace LlmTasks.Providers.Http;

/// <summary>
/// An HTTP error answer from a provider, in one shape for every SDK: the status, the provider's own
/// error type and message, and the retry headers as sent. The engine classifies it (Execution/CallErrors).
/// </summary>
public sealed class ProviderHttpException(string model, int status, string? errorType, string? providerMessage,
    string? retryAfterMs, string? retryAfter, Exception? inner)
    : Exception($"{model}: HTTP {status}{(errorType is null ? "" : $" {errorType}")}: {providerMessage}", inner)
{
    /// <summary>The model string the call was for, e.g. openai/gpt-4o-mini.</summary>
    public string Model { get; } = model;
    public int Status { get; } = status;
    /// <summary>The provider's error type or code (rate_limit_error, insufficient_quota …), when it sent one.</summary>
    public string? ErrorType { get; } = errorType;
    public string? ProviderMessage { get; } = providerMessage;
    /// <summary>The retry-after-ms header (milliseconds), as sent.</summary>
    public string? RetryAfterMs { get; } = retryAfterMs;
    /// <summary>The Retry-After header (seconds or an HTTP date), as sent.</summary>
    public string? RetryAfter { get; } = retryAfter;
}

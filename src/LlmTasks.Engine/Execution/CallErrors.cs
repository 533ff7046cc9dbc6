using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.RegularExpressions;
using LlmTasks.Providers.Http;
using LlmTasks.Providers.Mock;
using Polly.Timeout;

namespace LlmTasks.Execution;

/// <summary>
/// Names the cause of a failed call: the kind goes to ErrorKind, the message to Error, and
/// <see cref="CallFailure.Transient"/> decides whether the retry loop tries again.
/// </summary>
internal static partial class CallErrors
{
    /// <summary>The ErrorKind of an answer cut off before it was complete (a stream that broke or ended early): transient, retried.</summary>
    public const string TruncatedStream = "TruncatedStream";

    /// <summary>The ErrorKind of a 400 that says the prompt does not fit the model (OpenAI's context_length_exceeded, Anthropic's "prompt is too long"): not retried; a -Fallback kind.</summary>
    public const string ContextTooLongKind = "ContextTooLong";

    /// <summary>The ErrorKind of a call not made because it would take its task past its -MaxCostUsd: not retried; the task ends Failed.</summary>
    public const string CostLimitKind = "CostLimit";

    public static CallFailure Classify(Exception e, TimeProvider time, CancellationToken token) => e switch
    {
        Pipeline.ModelCallException classified => classified.Failure,
        LlmTasksException known => new(known.ErrorId, known.Message, known.IsTransient) { ProviderDetails = known.DetailsJson },
        MockProviderException => new("ProviderError", e.Message),
        ProviderHttpException http => FromStatus(http, time),
        _ when Find<AnswerTooLargeException>(e) is { } large => new("ResponseTooLarge", large.Message), // the same request gets the same answer: not retried
        TimeoutRejectedException timeout => new("Timeout", $"No answer within {timeout.Timeout.TotalSeconds:0.###} s (the time one try may take).", Transient: true),
        OperationCanceledException when !token.IsCancellationRequested =>
            new("Timeout", $"The provider's HTTP client gave up waiting for an answer ({Innermost(e).Message}).", Transient: true),
        JsonException json => new("InvalidResponse", $"The provider's answer is not valid JSON ({json.Message}).", Status: 200),
        _ when Find<HttpIOException>(e) is { HttpRequestError: HttpRequestError.ResponseEnded } ended =>
            new(TruncatedStream, $"The provider's answer ended before it was complete ({ended.Message}).", Transient: true),
        _ when Find<TimeoutException>(e) is { } timeout => new("Timeout", $"The provider did not answer in time ({timeout.Message}).", Transient: true),
        _ when Find<SocketException>(e) is { } socket => new("ConnectionFailed", $"The connection to the provider failed: {socket.SocketErrorCode} ({socket.Message}).", Transient: true),
        _ when Find<HttpRequestException>(e) is { } request => new("ConnectionFailed", $"The connection to the provider failed: {Innermost(request).Message}", Transient: true),
        _ when Find<IOException>(e) is { } io => new("ConnectionFailed", $"The connection to the provider broke: {io.Message}", Transient: true),
        _ => new("ProviderError", $"{e.GetType().Name}: {e.Message}"),
    };

    private static CallFailure FromStatus(ProviderHttpException e, TimeProvider time)
    {
        var retryAfter = RetryAfter.Parse(e.RetryAfterMs, e.RetryAfter, time);
        var said = string.IsNullOrWhiteSpace(e.ProviderMessage) ? string.Empty : $": {e.ProviderMessage}";
        var type = e.ErrorType is null ? string.Empty : $" ({e.ErrorType})";
        string Text(string what) => $"{e.Model} answered HTTP {e.Status} {what}{type}{said}";
        var overloaded = e.Status == 529 || string.Equals(e.ErrorType, "overloaded_error", StringComparison.OrdinalIgnoreCase);
        return e.Status switch
        {
            429 when Quota().IsMatch($"{e.ErrorType} {e.ProviderMessage}") =>
                new("QuotaExceeded", Text("quota or billing limit reached, not retried"), Status: e.Status),
            429 => new("RateLimited", Text("rate limited"), true, retryAfter, e.Status),
            _ when overloaded => new("Overloaded", Text("overloaded"), true, retryAfter, e.Status),
            408 => new("Timeout", Text("request timeout"), true, retryAfter, e.Status),
            409 => new("ServerError", Text("conflict"), true, retryAfter, e.Status),
            >= 500 => new("ServerError", Text("server error"), true, retryAfter, e.Status),
            401 => new("AuthenticationFailed", Text("authentication failed: check the API key"), Status: e.Status),
            403 => new("PermissionDenied", Text("permission denied"), Status: e.Status),
            404 => new("NotFound", Text("not found: check the model name and base URL"), Status: e.Status),
            400 or 413 when ContextTooLong().IsMatch($"{e.ErrorType} {e.ProviderMessage}") =>
                new(ContextTooLongKind, Text("the prompt is longer than the model's context window"), Status: e.Status),
            _ => new("InvalidRequest", Text("invalid request"), Status: e.Status),
        };
    }

    /// <summary>Removes the task's key, every key this process read, and anything shaped like an API key, from text that is stored or shown.</summary>
    public static string Redact(string text, TaskSecrets? secrets)
    {
        if (secrets?.ApiKey is { Length: > 0 } key)
        {
            text = text.Replace(key, Diagnostics.Secrets.Mask, StringComparison.Ordinal);
        }

        return Diagnostics.Secrets.Redact(text);
    }

    private static T? Find<T>(Exception e)
        where T : Exception
    {
        for (Exception? x = e; x is not null; x = x.InnerException)
        {
            if (x is T match)
            {
                return match;
            }
        }

        return null;
    }

    private static Exception Innermost(Exception e) => e.InnerException is { } inner ? Innermost(inner) : e;

    [GeneratedRegex(@"quota|billing|insufficient_quota|credit", RegexOptions.IgnoreCase)]
    private static partial Regex Quota();

    [GeneratedRegex(@"context_length_exceeded|maximum context length|context window|prompt is too long|too many (input )?tokens|string_above_max_length", RegexOptions.IgnoreCase)]
    private static partial Regex ContextTooLong();
}

/// <summary>A classified failure: its kind, a message naming the cause, whether to retry, and the server's requested wait.</summary>
internal sealed record CallFailure(string Kind, string Message, bool Transient = false, TimeSpan? RetryAfter = null, int? Status = null)
{
    /// <summary>Facts the provider attached to its error (a JSON object), kept under "provider" in the attempt's details.</summary>
    public string? ProviderDetails { get; init; }
}

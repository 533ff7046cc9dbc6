using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace LlmTasks.Providers.Http;

/// <summary>
/// A 2xx answer the SDK could not read as a chat completion (invalid UTF-8, JSON of the wrong shape):
/// ErrorKind InvalidResponse, not retried. The message says what was wrong in words; the SDK's own
/// exception is kept in the attempt's details for whoever debugs it.
/// </summary>
public sealed class ProviderAnswerException : LlmTasksException
{
    public const string Kind = "InvalidResponse";

    public ProviderAnswerException(string model, int status, Exception cause)
        : base(Kind, LlmErrorCategory.InvalidData,
            $"{model} answered HTTP {status} with a body that is not a chat completion this module can read: {What(cause)}. Check that the base URL points at an OpenAI- or Anthropic-style API (for this provider) and not at a proxy or web page.",
            cause)
    {
        DetailsJson = JsonSerializer.Serialize(new Dictionary<string, string> { ["cause"] = $"{cause.GetType().Name}: {cause.Message}" });
    }

    /// <summary>
    /// True for a failure to read an answer that did arrive: not a cancellation, not a broken or refused
    /// connection, not a truncated or oversized body (those have their own kinds).
    /// </summary>
    public static bool IsReadFailure(Exception e)
    {
        for (Exception? x = e; x is not null; x = x.InnerException)
        {
            if (x is OperationCanceledException or IOException or HttpRequestException or SocketException or TimeoutException or LlmTasksException)
            {
                return false;
            }
        }

        return true;
    }

    private static string What(Exception cause)
    {
        for (Exception? x = cause; x is not null; x = x.InnerException)
        {
            if (x is InvalidDataException)
            {
                return x.Message;
            }

            if (x is DecoderFallbackException || x.Message.Contains("UTF-8", StringComparison.OrdinalIgnoreCase))
            {
                return "it is not valid UTF-8 text";
            }

            if (x is JsonException json)
            {
                return json.LineNumber is { } line
                    ? $"it is not valid JSON (at line {line + 1}, byte {json.BytePositionInLine + 1})"
                    : "it is not valid JSON, or not JSON of the expected shape";
            }
        }

        return "a field it must have is missing or of the wrong type";
    }
}

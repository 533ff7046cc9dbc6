using LlmTasks.Storage;

namespace LlmTasks.Execution;

/// <summary>
/// -Fallback: the models a call moves on to, in order, when it still fails after its retries with one of the
/// -FallbackOn kinds. Each model's tries are attempt rows naming that model; the task ends with the first answer.
/// </summary>
public static class Fallbacks
{
    /// <summary>The most fallback models a task may name.</summary>
    public const int MaxModels = 10;

    /// <summary>What moves a call on when -FallbackOn is not given: the model is busy, down or too small for the prompt.</summary>
    public static IReadOnlyList<string> DefaultKinds { get; } = ["RateLimited", "Overloaded", "ServerError", CallErrors.ContextTooLongKind];

    /// <summary>The kinds -FallbackOn takes.</summary>
    public static IReadOnlyList<string> Kinds { get; } =
    [
        "RateLimited", "QuotaExceeded", "Overloaded", "ServerError", CallErrors.ContextTooLongKind, "Timeout", "ConnectionFailed",
        CallErrors.TruncatedStream, "NotFound", "AuthenticationFailed", "PermissionDenied", "InvalidResponse", "ResponseTooLarge", "ProviderError",
    ];

    /// <summary>Refuses an unknown kind or too many models (nothing is stored).</summary>
    internal static void Validate(LlmTaskRequest request)
    {
        if (request.Fallbacks is { Count: > MaxModels } many)
        {
            throw new LlmTasksException(ErrorIds.InvalidFallback, LlmErrorCategory.InvalidArgument,
                $"-Fallback takes at most {MaxModels} models; got {many.Count}.") { Target = many };
        }

        if (request.Fallbacks?.FirstOrDefault(string.IsNullOrWhiteSpace) is not null)
        {
            throw new LlmTasksException(ErrorIds.InvalidFallback, LlmErrorCategory.InvalidArgument, "-Fallback models must not be empty.") { Target = request.Fallbacks };
        }

        if (request.FallbackOn?.FirstOrDefault(k => !Kinds.Contains(k, StringComparer.OrdinalIgnoreCase)) is { } unknown)
        {
            throw new LlmTasksException(ErrorIds.InvalidFallback, LlmErrorCategory.InvalidArgument,
                $"-FallbackOn does not know '{unknown}'. Use one or more of: {string.Join(", ", Kinds)}.") { Target = unknown };
        }
    }

    /// <summary>True when a call that ended so moves on to the next model.</summary>
    internal static bool MovesOn(LlmTaskRequest request, AttemptRecord last, LlmTaskState? state) =>
        state == LlmTaskState.Failed && last.Outcome == LlmAttemptOutcome.Failed && last.ErrorKind is { } kind
        && (request.FallbackOn ?? DefaultKinds).Contains(kind, StringComparer.OrdinalIgnoreCase);
}

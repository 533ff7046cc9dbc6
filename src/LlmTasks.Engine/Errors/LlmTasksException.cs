namespace LlmTasks;

/// <summary>
/// A failure the user can act on. <see cref="ErrorId"/> is stable (it becomes the ErrorRecord's
/// FullyQualifiedErrorId) and <see cref="Category"/> maps onto PowerShell's ErrorCategory.
/// </summary>
public class LlmTasksException : Exception
{
    /// <remarks>The message is redacted here: no key this process read reaches an ErrorRecord through it.</remarks>
    public LlmTasksException(string errorId, LlmErrorCategory category, string message, Exception? inner = null)
        : base(Diagnostics.Secrets.Redact(message), inner)
    {
        ErrorId = errorId;
        Category = category;
    }

    public string ErrorId { get; }
    public LlmErrorCategory Category { get; }
    /// <summary>What the error is about (a path, a model string, a task), for the ErrorRecord's TargetObject.</summary>
    public object? Target { get; init; }

    /// <summary>For a failed model call: whether trying again later may succeed (rate limits, overload, 5xx, connection failures).</summary>
    public bool IsTransient { get; init; }

    /// <summary>For a failed model call: provider facts worth keeping on the attempt (a JSON object), e.g. the CLI's session id and turns.</summary>
    public string? DetailsJson { get; set; }
}

/// <summary>The engine's own names for the PowerShell ErrorCategory values it uses (the engine has no PowerShell reference).</summary>
public enum LlmErrorCategory
{
    NotSpecified,
    InvalidArgument,
    InvalidData,
    InvalidOperation,
    ObjectNotFound,
    PermissionDenied,
    ReadError,
    WriteError,
    ResourceUnavailable,
    OperationTimeout,
    InvalidResult,
    OperationStopped,
    NotInstalled,
    ResourceExists,
    SecurityError,
    LimitsExceeded,
}

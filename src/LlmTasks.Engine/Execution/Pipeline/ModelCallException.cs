namespace LlmTasks.Execution.Pipeline;

/// <summary>A failed try, already classified (<see cref="CallErrors"/>): its kind, message, and whether another try may succeed.</summary>
internal sealed class ModelCallException(CallFailure failure, Exception? inner = null) : Exception(failure.Message, inner)
{
    public CallFailure Failure { get; } = failure;
}

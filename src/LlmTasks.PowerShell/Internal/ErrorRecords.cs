using System.Management.Automation;

namespace LlmTasks.PowerShell.Internal;

/// <summary>ErrorRecords for everything the cmdlets report, each with its own id and category.</summary>
internal static class ErrorRecords
{
    public const string WaitTimeout = "LlmTaskWaitTimeout";
    public const string NotFound = "LlmTaskNotFound";
    public const string Failed = "LlmTaskFailed";
    public const string Cancelled = "LlmTaskCancelled";
    public const string NeedsReview = "LlmTaskNeedsReview";
    public const string NotFinished = "LlmTaskNotFinished";
    public const string Active = "LlmTaskActive";
    public const string Removed = "LlmTaskRemoved";
    public const string NoModel = "LlmTaskNoModel";
    public const string NoFilter = "LlmTaskNoFilter";
    public const string NotReviewable = "LlmTaskNotInReview";
    public const string NotRestartable = "LlmTaskNotRestartable";
    public const string ScriptCheckVariable = "LlmTaskScriptCheckVariable";
    public const string ScriptCheckUsing = "LlmTaskScriptCheckUsing";
    public const string ScriptCheckCommand = "LlmTaskScriptCheckCommand";
    public const string VerificationInterrupted = "LlmTaskVerificationInterrupted";
    // Binding: what piped objects and arguments may mean.
    public const string InputNotTask = "LlmTaskInputNotTask";
    public const string IdOnlyObject = "LlmTaskIdOnlyObject";
    public const string StoreNotFound = "LlmTaskStoreNotFound";
    public const string NoPrompt = "LlmTaskNoPrompt";
    public const string InputHasNoPrompt = "LlmTaskInputHasNoPrompt";
    public const string InputIsTask = "LlmTaskInputIsTask";
    public const string ContinueNeedsTask = "LlmTaskContinueNeedsTask";
    public const string PromptGivenTwice = "LlmTaskPromptGivenTwice";
    public const string InvalidInput = "LlmTaskInvalidInput";

    public static ErrorRecord From(LlmTasksException e) =>
        new(e, e.ErrorId, Map(e.Category), e.Target);

    public static ErrorRecord Create(string errorId, ErrorCategory category, string message, object? target, string? recommendedAction = null)
    {
        var record = new ErrorRecord(new LlmTasksException(errorId, Unmap(category), message), errorId, category, target);
        if (recommendedAction is not null)
        {
            record.ErrorDetails = new ErrorDetails(message) { RecommendedAction = recommendedAction };
        }

        return record;
    }

    /// <summary>A finished task that did not complete: Failed, Cancelled or NeedsReview.</summary>
    public static ErrorRecord Unsuccessful(LlmTask task) => task.State switch
    {
        LlmTaskState.Cancelled => Create(Cancelled, ErrorCategory.OperationStopped,
            $"Task {task.Id}{NamePart(task)} was cancelled: {task.Error ?? "stopped"}", task),
        LlmTaskState.NeedsReview => Create(NeedsReview, ErrorCategory.InvalidResult,
            $"Task {task.Id}{NamePart(task)} needs review: {task.Error ?? "its output did not pass verification"}", task,
            "Read the output and the reasons with Get-LlmTask, then approve or restart the task."),
        // A stored request the running process would not trust (docs/security.md) is a security refusal, not a bad answer.
        _ => Create(Failed, task.ErrorKind?.StartsWith("LlmTaskUntrusted", StringComparison.Ordinal) == true ? ErrorCategory.SecurityError : ErrorCategory.InvalidResult,
            $"Task {task.Id}{NamePart(task)} failed ({task.ErrorKind ?? "Error"}): {task.Error}", task),
    };

    public static string Describe(LlmTask task) => $"{task.Id}{NamePart(task)} ({task.State})";

    private static string NamePart(LlmTask task) => string.IsNullOrEmpty(task.Name) ? string.Empty : $" '{task.Name}'";

    private static ErrorCategory Map(LlmErrorCategory category) =>
        Enum.TryParse<ErrorCategory>(category.ToString(), out var mapped) ? mapped : ErrorCategory.NotSpecified;

    private static LlmErrorCategory Unmap(ErrorCategory category) =>
        Enum.TryParse<LlmErrorCategory>(category.ToString(), out var mapped) ? mapped : LlmErrorCategory.NotSpecified;
}

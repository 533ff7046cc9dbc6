using System.Text.Json;

namespace LlmTasks.Verification.Checks;

/// <summary>NotEmpty: the output has non-whitespace text and is not an error payload ({"error": …}).</summary>
internal sealed class NotEmptyCheck(CheckSpec spec) : IOutputCheck
{
    public CheckSpec Spec => spec;

    public Task<CheckVerdict> RunAsync(CheckContext context)
    {
        if (context.Task is { State: not LlmTaskState.Completed and not LlmTaskState.NeedsReview } task && string.IsNullOrWhiteSpace(task.Output))
        {
            return Task.FromResult(CheckVerdict.Fail($"The task has no output (it is {task.State}: {task.Error})."));
        }

        if (string.IsNullOrWhiteSpace(context.Output))
        {
            return Task.FromResult(CheckVerdict.Fail("The output is empty.", "Answer the request with text."));
        }

        if (JsonText.TryParse(context.Output, out var root, out _) && root.ValueKind == JsonValueKind.Object
            && root.TryGetProperty("error", out var error) && root.EnumerateObject().Count() <= 2)
        {
            return Task.FromResult(CheckVerdict.Fail($"The output is an error payload: {Shorten(error.ToString())}", "Answer the request instead of reporting an error."));
        }

        return Task.FromResult(CheckVerdict.Pass());
    }

    internal static string Shorten(string text, int max = 200) => text.Length <= max ? text : text[..(max - 1)] + "…";
}

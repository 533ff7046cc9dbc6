using System.Text;

namespace LlmTasks.Verification;

/// <summary>
/// The user message sent after a failed attempt: which attempt failed, every failed check with its
/// reason and a suggestion, and the original request restated.
/// </summary>
internal static class FeedbackPrompt
{
    public static string Build(int attempt, int maxAttempts, IEnumerable<LlmCheckResult> failed, string originalRequest, string? hint)
    {
        var text = new StringBuilder();
        text.Append("Attempt ").Append(attempt).Append(" of ").Append(maxAttempts).AppendLine(" failed verification. These checks failed:");
        var n = 0;
        foreach (var check in failed)
        {
            text.Append(++n).Append(". ").Append(check.Label).Append(": ").AppendLine(check.Reason ?? "failed");
            if (!string.IsNullOrWhiteSpace(check.Suggestion))
            {
                text.Append("   Suggestion: ").AppendLine(check.Suggestion);
            }
        }

        if (!string.IsNullOrWhiteSpace(hint))
        {
            text.AppendLine().Append("Hint: ").AppendLine(hint);
        }

        text.AppendLine().AppendLine("Answer the original request again, fixing every problem above. The original request was:").Append(originalRequest);
        return text.ToString();
    }

    /// <summary>"Length: …; Json: …": the failed checks in one line, for the task's Error.</summary>
    public static string Summary(IEnumerable<LlmCheckResult> failed) =>
        "Failed checks: " + string.Join("; ", failed.Select(c => $"{c.Label}: {c.Reason}"));
}

namespace LlmTasks.Verification;

/// <summary>What Invoke-LlmVerification writes per input: whether every check passed, and each check's result.</summary>
public sealed record LlmVerificationResult
{
    public bool Passed { get; init; }
    public required IReadOnlyList<LlmCheckResult> Checks { get; init; }
    /// <summary>The verified input: an <see cref="LlmTask"/> or the text.</summary>
    public object? Target { get; init; }
    public long? TaskId { get; init; }
    public string? Output { get; init; }

    public IEnumerable<LlmCheckResult> FailedChecks => Checks.Where(c => !c.Passed);

    /// <summary>"Length: …; Json: …": the failed checks in one line.</summary>
    public string Summary => Passed ? "passed" : string.Join("; ", FailedChecks.Select(c => $"{c.Label}: {c.Reason}"));

    public override string ToString() => $"{(Passed ? "Passed" : "Failed")} ({Checks.Count(c => c.Passed)}/{Checks.Count})";
}

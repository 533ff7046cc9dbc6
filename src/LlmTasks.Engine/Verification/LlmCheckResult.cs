namespace LlmTasks.Verification;

/// <summary>The result of one check on one output. Stored per task and attempt in the checks table.</summary>
public sealed record LlmCheckResult
{
    /// <summary>1-based position of the check in the spec (0 for an approval note).</summary>
    public int Index { get; init; }
    public required string Type { get; init; }
    public string? Name { get; init; }
    public bool Passed { get; init; }
    /// <summary>Why it failed (or, for some passes, what was found).</summary>
    public string? Reason { get; init; }
    /// <summary>What the model should change; sent back in the feedback message.</summary>
    public string? Suggestion { get; init; }
    /// <summary>Machine-readable facts as JSON (schema errors with paths, judge usage …).</summary>
    public string? Details { get; init; }
    public TimeSpan Duration { get; init; }
    /// <summary>The check could not run here (a stored script block, no parser): re-asking cannot help.</summary>
    public bool Unavailable { get; init; }
    /// <summary>
    /// Why the check could not decide, when that was not the answer's fault: JudgeUnavailable (the judge's model could
    /// not be called, after its retries). The task then fails with this kind, keeping its answer; it is never re-asked.
    /// </summary>
    public string? ErrorKind { get; init; }
    /// <summary>For stored results: the task and its attempt number.</summary>
    public long? TaskId { get; init; }
    public int? Attempt { get; init; }

    public string Label => string.IsNullOrWhiteSpace(Name) ? Type : Name!;

    public override string ToString() => $"{Label}: {(Passed ? "passed" : "failed")}{(Reason is null ? string.Empty : " - " + Reason)}";
}

using System.Text.Json;

namespace LlmTasks.Storage;

/// <summary>
/// What the stores write in words (errors of stopped, interrupted and discarded calls, approvals): one text per
/// event, whatever the backend, so a task reads the same on SQLite and on PostgreSQL.
/// </summary>
internal static class StoreTexts
{
    public const string Stopped = "Stopped by Stop-LlmTask.";

    public const string ShutDown = "The process running the call shut down before it ended; the task went back to Pending.";

    /// <summary>A Running task taken over: its lease ran out (<paramref name="expired"/>), or its owner's process on this machine is gone.</summary>
    public static string Interrupted(string? owner, bool expired) => expired
        ? $"The process running the call ({owner ?? "unknown"}) stopped before it ended."
        : $"The process running the call ({owner}) ended before the call did: it is no longer running on this machine.";

    public static string GivenUp(string interrupted, int times, int limit) =>
        $"{interrupted} It was interrupted {times} times, more than the recovery limit of {limit}; it was not run again.";

    /// <summary>Why a call's result was kept as Discarded, from the task as the store has it now.</summary>
    public static string Discarded(string state, string? owner, bool cancelRequested) => (state, owner, cancelRequested) switch
    {
        ("Cancelled", _, _) or (_, _, true) => "Discarded: the task was stopped (Stop-LlmTask) before this call's result could be recorded.",
        (var current, _, _) when Enum.TryParse<LlmTaskState>(current, out var s) && s.IsTerminal() => $"Discarded: the task had already ended ({current}) elsewhere; this result came too late.",
        (_, { } other, _) => $"Discarded: this process's lease on the task lapsed and {other} took it over; this result was not applied.",
        _ => "Discarded: this process's lease on the task lapsed and it went back to Pending; this result was not applied.",
    };

    /// <summary>The attempt as a Discarded one, saying why (a failed call keeps its error after the reason).</summary>
    public static AttemptRecord AsDiscarded(AttemptRecord attempt, string why) => attempt with
    {
        Outcome = LlmAttemptOutcome.Discarded,
        Error = attempt.Outcome == LlmAttemptOutcome.Failed && attempt.Error is { } failed ? $"{why} The call had failed: {failed}" : why,
        ErrorKind = attempt.Outcome == LlmAttemptOutcome.Failed ? attempt.ErrorKind : null,
    };

    /// <summary>The Interrupted attempt of a call cut off by a takeover or a hand-back.</summary>
    public static AttemptRecord InterruptedAttempt(string message, long startedMs, long nowMs) => new()
    {
        Outcome = LlmAttemptOutcome.Interrupted,
        Error = message,
        ErrorKind = "Interrupted",
        StartedAtMs = startedMs,
        LatencyMs = nowMs - startedMs,
    };

    /// <summary>The Approval check row Approve-LlmTask keeps.</summary>
    public static Verification.LlmCheckResult Approval(string approvedBy, string? note) => new()
    {
        Index = 0,
        Type = "Approval",
        Passed = true,
        Reason = $"Approved by {approvedBy}" + (string.IsNullOrWhiteSpace(note) ? "." : $": {note}"),
        Details = JsonSerializer.Serialize(new Dictionary<string, string?> { ["approvedBy"] = approvedBy, ["note"] = note }),
    };
}

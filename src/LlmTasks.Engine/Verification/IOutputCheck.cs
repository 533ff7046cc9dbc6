using LlmTasks.Providers;
using LlmTasks.Storage;

namespace LlmTasks.Verification;

/// <summary>One validator, built (and its parameters checked) from a <see cref="CheckSpec"/>.</summary>
internal interface IOutputCheck
{
    CheckSpec Spec { get; }

    Task<CheckVerdict> RunAsync(CheckContext context);
}

/// <summary>What a validator decided.</summary>
internal sealed record CheckVerdict(bool Passed, string? Reason = null, string? Suggestion = null, string? Details = null, bool Unavailable = false)
{
    /// <summary>The check could not run for a reason outside the answer (its judge's model is down): see <see cref="LlmCheckResult.ErrorKind"/>.</summary>
    public string? ErrorKind { get; init; }

    public static CheckVerdict Pass(string? note = null) => new(true, note);

    public static CheckVerdict Fail(string reason, string? suggestion = null, string? details = null) => new(false, reason, suggestion, details);
}

/// <summary>What a validator gets: the output, the request's prompt, the task (when verifying one) and the host's services.</summary>
internal sealed record CheckContext(string Output, string? Prompt, LlmTask? Task, VerificationEnvironment Environment, CancellationToken CancellationToken);

/// <summary>The providers (for Judge calls), the host services and where a judge call is recorded.</summary>
internal sealed record VerificationEnvironment(ProviderRegistry Providers, VerificationServices Services)
{
    /// <summary>The retry and clock a judge's call runs with (the task manager's, for a task).</summary>
    public Execution.RetryOptions Retry { get; init; } = new();

    /// <summary>The store a judged task lives in, for the judge call's narration.</summary>
    public string? Store { get; init; }

    /// <summary>Records a judge call as an attempt of the task; null: the usage goes into the check's details only.</summary>
    public Func<AttemptRecord, Task>? RecordJudgeCall { get; init; }

    public TaskSecrets? Secrets { get; init; }

    /// <summary>The judged task's -MaxCostUsd and spend: a judge's call counts, and is not made past the cap (null: no cap).</summary>
    internal Execution.Limits.TaskSpend? Spend { get; init; }
}

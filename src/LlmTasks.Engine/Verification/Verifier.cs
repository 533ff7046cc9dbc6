using System.Diagnostics;
using LlmTasks.Providers;

namespace LlmTasks.Verification;

/// <summary>
/// Runs a spec's checks on one output, in order (stopping at the first failure only with failFast).
/// Built once per spec; <see cref="VerifyAsync"/> may run for many outputs at once.
/// </summary>
public sealed class Verifier
{
    private readonly IReadOnlyList<IOutputCheck> _checks;
    private readonly ProviderRegistry _providers;
    private readonly VerificationServices _services;

    /// <summary>Validates the spec (an <see cref="LlmTasksException"/> names a bad item).</summary>
    public Verifier(IReadOnlyList<CheckSpec> specs, ProviderRegistry providers, VerificationServices? services = null)
    {
        _checks = CheckFactory.Build(specs, providers);
        _providers = providers;
        _services = services ?? VerificationServices.Default;
    }

    public int Count => _checks.Count;

    public bool HasJudge => _checks.Any(c => c is Checks.JudgeCheck or Checks.ContradictionCheck);

    /// <summary>
    /// Verifies a text or a task's output (the task is handed to script blocks as $Task). With a task and
    /// <paramref name="recordTo"/>, each judge call is kept as an attempt of that task (usage and cost included).
    /// </summary>
    public Task<LlmVerificationResult> VerifyAsync(string? output, LlmTask? task, bool failFast, CancellationToken cancellationToken,
        Storage.ITaskStore? recordTo = null) =>
        VerifyAsync(output, task?.Request.Prompt, task, failFast, new VerificationEnvironment(_providers, _services)
        {
            RecordJudgeCall = task is not null && recordTo is { IsReadOnly: false }
                ? judge =>
                {
                    recordTo.RecordCall(task.Id, judge);
                    return Task.CompletedTask;
                }
                : null,
        }, cancellationToken);

    internal async Task<LlmVerificationResult> VerifyAsync(string? output, string? prompt, LlmTask? task, bool failFast,
        VerificationEnvironment environment, CancellationToken cancellationToken)
    {
        var text = output ?? string.Empty;
        var results = new List<LlmCheckResult>(_checks.Count);
        for (var i = 0; i < _checks.Count; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var check = _checks[i];
            var clock = Stopwatch.StartNew();
            CheckVerdict verdict;
            try
            {
                verdict = await check.RunAsync(new CheckContext(text, prompt, task, environment, cancellationToken)).ConfigureAwait(false);
            }
            catch (OperationCanceledException e) when (cancellationToken.IsCancellationRequested || e is CheckInterruptedException)
            {
                throw; // stopped, or the host went away mid-check: not a verdict
            }
            catch (Exception e)
            {
                verdict = CheckVerdict.Fail($"The check failed to run: {(e is LlmTasksException ? e.Message : e.GetType().Name + ": " + e.Message)}");
            }

            var checkResult = new LlmCheckResult
            {
                Index = i + 1,
                Type = check.Spec.Type,
                Name = check.Spec.Name,
                Passed = verdict.Passed,
                Reason = verdict.Reason,
                Suggestion = verdict.Suggestion,
                Details = verdict.Details,
                Duration = clock.Elapsed,
                Unavailable = verdict.Unavailable,
                TaskId = task?.Id,
            };
            results.Add(checkResult);
            Diagnostics.Narration.CheckResult(task, checkResult);
            if (failFast && !verdict.Passed)
            {
                break;
            }
        }

        return new LlmVerificationResult
        {
            Passed = results.All(r => r.Passed),
            Checks = results,
            Target = task is null ? text : task,
            TaskId = task?.Id,
            Output = text,
        };
    }
}

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
        : this(specs, providers, services, stored: false)
    {
    }

    /// <param name="stored">The spec was read from the store: its judges' models are whole, never completed from this process's environment.</param>
    internal Verifier(IReadOnlyList<CheckSpec> specs, ProviderRegistry providers, VerificationServices? services, bool stored)
    {
        _checks = CheckFactory.Build(specs, providers, isNew: !stored);
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
        Storage.ITaskStore? recordTo = null, Execution.RetryOptions? retry = null) =>
        VerifyAsync(output, task?.Request.Prompt, task, failFast, new VerificationEnvironment(_providers, _services)
        {
            Retry = retry ?? Execution.TaskManagers.Options.Retry,
            Store = task?.StorePath,
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
            var time = environment.Retry.TimeProvider;
            var started = time.GetTimestamp();
            using var span = Diagnostics.EngineTelemetry.StartCheck(check.Spec, i + 1, task);
            CheckVerdict verdict;
            try
            {
                verdict = await check.RunAsync(new CheckContext(text, prompt, task, environment, cancellationToken)).ConfigureAwait(false);
            }
            catch (OperationCanceledException e) when (cancellationToken.IsCancellationRequested || e is CheckInterruptedException)
            {
                throw; // stopped, or the host went away mid-check: not a verdict
            }
            catch (CheckInfrastructureException e)
            {
                // Not the answer's fault (its judge could not be called): no verdict, its own kind.
                verdict = new CheckVerdict(false, e.Message, null, null, Unavailable: true) { ErrorKind = e.ErrorKind };
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
                Duration = time.GetElapsedTime(started),
                Unavailable = verdict.Unavailable,
                ErrorKind = verdict.ErrorKind,
                TaskId = task?.Id,
            };
            Diagnostics.EngineTelemetry.EndCheck(span, checkResult);
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

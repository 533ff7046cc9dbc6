using LlmTasks.Execution.Pipeline;
using LlmTasks.Providers;
using LlmTasks.Providers.Mock;
using LlmTasks.Storage;

namespace LlmTasks.Execution;

/// <summary>
/// One model call for a task, through the one pipeline (<see cref="ModelPipeline"/>: retry, attempt recording, cost,
/// telemetry, narration), and what its end means for the task: its state, and its last attempt row — Cancelled,
/// Interrupted or Timeout by why the call's token was cancelled, the answer's JSON when the task asked for JSON.
/// </summary>
internal static class ModelCall
{
    /// <summary>What a call needs from the task manager besides the task.</summary>
    internal sealed record Setup(RetryOptions Retry, Func<long, AttemptRecord, Task> RecordTry, ICallOutput? Output, bool Streaming, Limits.RateGovernor? Rates = null,
        ProviderRegistry? Providers = null, Func<long>? NowMs = null);

    /// <summary>
    /// Runs the call. Each try that fails before a retry is kept as an attempt row of its own (<see cref="Setup.RecordTry"/>);
    /// the returned attempt is the last one.
    /// </summary>
    public static async Task<(AttemptRecord Attempt, LlmTaskState? FinalState)> RunAsync(ActiveTask active, LlmTaskRequest request, long startedAtMs,
        Setup setup, CancellationToken token)
    {
        var result = await RunOneAsync(active, request, active.Model, active.Provider, active.ResolveError, startedAtMs, setup, token).ConfigureAwait(false);
        var fallbacks = request.Fallbacks ?? [];
        for (var i = 0; i < fallbacks.Count && setup.Providers is { } providers && Fallbacks.MovesOn(request, result.Attempt, result.FinalState) && !token.IsCancellationRequested; i++)
        {
            // The model that failed keeps its last try as a row of its own; the next model's tries follow it.
            await setup.RecordTry(active.Id, result.Attempt).ConfigureAwait(false);
            ModelId? model = null;
            IChatClientProvider? provider = null;
            Exception? resolveError = null;
            try
            {
                (model, provider) = providers.Resolve(fallbacks[i]);
            }
            catch (LlmTasksException e)
            {
                resolveError = e;
            }

            // -ApiBase is the task's provider's: a fallback to another provider uses that provider's own base URL.
            var sent = request with
            {
                Model = fallbacks[i],
                ApiBase = model?.Provider == active.Model?.Provider ? request.ApiBase : null,
                Fallbacks = null,
            };
            Diagnostics.Narration.FallingBack(active, result.Attempt, fallbacks[i]);
            result = await RunOneAsync(active, sent, model, provider, resolveError, setup.NowMs?.Invoke() ?? startedAtMs, setup, token, fallback: i + 1).ConfigureAwait(false);
        }

        return result;
    }

    private static async Task<(AttemptRecord Attempt, LlmTaskState? FinalState)> RunOneAsync(ActiveTask active, LlmTaskRequest request, ModelId? model,
        IChatClientProvider? provider, Exception? resolveError, long startedAtMs, Setup setup, CancellationToken token, int fallback = 0)
    {
        var scope = new CallScope
        {
            Request = request,
            // A call that sends the task's own request points at it instead of storing a second copy.
            RequestJson = ReferenceEquals(request, active.Task.Request) ? null : StoreJson.Serialize(request),
            Model = model,
            Details = fallback == 0 ? null : new Dictionary<string, System.Text.Json.Nodes.JsonNode?> { ["fallback"] = fallback, ["model"] = request.Model },
            TaskId = active.Id,
            Store = active.Task.StorePath,
            Secrets = active.Secrets,
            Retry = setup.Retry,
            RecordTry = row => setup.RecordTry(active.Id, row),
            Output = setup.Output,
            Streaming = setup.Streaming && request.MockResponse is null && provider?.StreamsAnswers == true,
            StartedAtMs = startedAtMs,
            Rates = setup.Rates,
            ReportsRateLimits = provider?.ReportsRateLimits == true,
            Spend = active.Spend,
        };
        var result = await CallAsync(active, scope, provider, resolveError, token).ConfigureAwait(false);
        Diagnostics.Narration.CallFinished(scope, result.Attempt);
        return result;
    }

    private static async Task<(AttemptRecord Attempt, LlmTaskState? FinalState)> CallAsync(ActiveTask active, CallScope scope, IChatClientProvider? callProvider,
        Exception? resolveError, CancellationToken token)
    {
        var request = scope.Request;
        try
        {
            if (resolveError is not null)
            {
                throw resolveError;
            }

            token.ThrowIfCancellationRequested(); // stopped before it began: no call is made

            var provider = request.MockResponse is { } fixedText
                ? MockChatClient.Respond(fixedText)
                : callProvider!.CreateClient(scope.Model!.Value, new ProviderCallContext(active.Id, request, active.Secrets));
            using var client = ModelPipeline.Build(provider, scope);
            var response = await client.GetResponseAsync(ChatMapping.ToChat(request.Messages), ChatMapping.ToOptions(request, scope.Model?.Model), token).ConfigureAwait(false);
            var attempt = scope.Succeeded(response);
            if (!request.WantsJson)
            {
                return (attempt, LlmTaskState.Completed);
            }

            var native = response.AdditionalProperties?.TryGetValue(ResponseProperties.StructuredOutput, out var structured) == true ? structured as string : null;
            return StructuredAnswer.TryRead(native ?? response.Text, out var json, out var problem)
                ? (attempt with { StructuredOutput = json }, LlmTaskState.Completed)
                : (attempt with { Outcome = LlmAttemptOutcome.Failed, Error = problem, ErrorKind = StructuredAnswer.InvalidJsonKind }, LlmTaskState.Failed);
        }
        // Whatever a provider throws once the call's token is cancelled (some turn it into an I/O error),
        // the reason decides: Stop, shutdown or the timeout.
        catch (Exception e) when ((e is OperationCanceledException || token.IsCancellationRequested) && active.Reason == CancelReason.User)
        {
            return (scope.Ended(LlmAttemptOutcome.Cancelled) with { Error = "Stopped by Stop-LlmTask.", ErrorKind = "Cancelled" }, LlmTaskState.Cancelled);
        }
        catch (Exception e) when ((e is OperationCanceledException || token.IsCancellationRequested) && active.Reason == CancelReason.Shutdown)
        {
            return (scope.Ended(LlmAttemptOutcome.Interrupted) with
            {
                Error = "The process running the call shut down before it ended; the task went back to Pending.",
                ErrorKind = "Interrupted",
            }, null);
        }
        catch (Exception e) when ((e is OperationCanceledException || token.IsCancellationRequested) && active.TimedOut)
        {
            var limit = request.TimeoutSec is { } s ? $" within -TimeoutSec {s}" : string.Empty;
            // A provider that says more than "canceled" (the CLI: its process tree killed, its stderr tail) is kept.
            var said = e.Message == new OperationCanceledException().Message ? string.Empty : " " + CallErrors.Redact(e.Message, active.Secrets);
            var elapsed = scope.Time.GetUtcNow().ToUnixTimeMilliseconds() - scope.StartedAtMs;
            return (scope.Ended(LlmAttemptOutcome.Failed) with
            {
                Error = $"The call to {request.Model} did not finish{limit} (after {elapsed / 1000.0:0.###} s, {Math.Max(scope.Tries, 1)} tries).{said}",
                ErrorKind = "Timeout",
            }, LlmTaskState.Failed);
        }
        catch (Exception e)
        {
            var failure = CallErrors.Classify(e, scope.Time, token);
            if (failure.Transient && scope.Tries > 1)
            {
                failure = failure with { Message = $"{failure.Message} (gave up after {scope.Tries} tries)" };
            }

            var failed = scope.Failed(failure, null);
            // A try refused by -MaxCostUsd was never sent: no attempt row stands for it (the task's error says why it ended).
            return (failure.Kind == CallErrors.CostLimitKind ? failed with { CallMade = scope.Tries > scope.Recorded } : failed, LlmTaskState.Failed);
        }
    }
}

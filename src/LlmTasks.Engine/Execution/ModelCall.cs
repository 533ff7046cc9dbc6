using System.Diagnostics;
using LlmTasks.Providers;
using LlmTasks.Providers.Mock;
using LlmTasks.Providers.Pricing;
using LlmTasks.Storage;
using Microsoft.Extensions.AI;

namespace LlmTasks.Execution;

/// <summary>Makes one model call for a task and describes how it ended, as an attempt and the task's next state.</summary>
internal static class ModelCall
{
    /// <summary>
    /// Runs the call. <paramref name="recordTry"/> keeps each intermediate try (a transient failure
    /// before a retry) as an attempt of its own; the returned attempt is the last one.
    /// </summary>
    public static async Task<(AttemptRecord Attempt, LlmTaskState? FinalState)> RunAsync(ActiveTask active, LlmTaskRequest request, long startedAtMs,
        RetryOptions retry, Func<long, AttemptRecord, Task> recordTry, CancellationToken token)
    {
        var result = await CallAsync(active, request, startedAtMs, retry, recordTry, token).ConfigureAwait(false);
        Diagnostics.Narration.CallFinished(active, request, result.Attempt);
        return result;
    }

    private static async Task<(AttemptRecord Attempt, LlmTaskState? FinalState)> CallAsync(ActiveTask active, LlmTaskRequest request, long startedAtMs,
        RetryOptions retry, Func<long, AttemptRecord, Task> recordTry, CancellationToken token)
    {
        var clock = Stopwatch.StartNew();
        // A call that sends the task's own request points at it instead of storing a second copy.
        var requestJson = ReferenceEquals(request, active.Task.Request) ? null : StoreJson.Serialize(request);
        var tryStarted = TimeSpan.Zero;
        var tries = 0;
        var recorded = 0; // tries already kept as rows (failed before a retry)
        AttemptRecord Record(LlmAttemptOutcome outcome) => new()
        {
            Outcome = outcome,
            StartedAtMs = startedAtMs + (long)tryStarted.TotalMilliseconds,
            LatencyMs = (clock.Elapsed - tryStarted).TotalMilliseconds,
            RequestJson = requestJson,
        };

        // Stopped, timed out or shut down with no try in flight (before the first, or in the wait between two whose
        // failed tries have their rows): the task's state changes, but no call stands behind this record.
        AttemptRecord Ended(LlmAttemptOutcome outcome) => Record(outcome) with { CallMade = tries > recorded };

        AttemptRecord Failed(CallFailure failure, TimeSpan? retryDelay) => Record(LlmAttemptOutcome.Failed) with
        {
            Error = CallErrors.Redact(failure.Message, active.Secrets),
            ErrorKind = failure.Kind,
            DetailsJson = FailureDetails(failure, retryDelay, tries),
        };

        try
        {
            if (active.ResolveError is { } resolveError)
            {
                throw resolveError;
            }

            token.ThrowIfCancellationRequested(); // stopped before it began: no call is made

            var client = request.MockResponse is { } fixedText
                ? MockChatClient.Respond(fixedText)
                : active.Provider!.CreateClient(active.Model!.Value, new ProviderCallContext(active.Id, request, active.Secrets));
            using (client)
            {
                Diagnostics.Narration.CallStarting(active, request, client);
                var messages = ToChatMessages(request);
                var options = ToChatOptions(request, active);
                var response = await RetryPipeline.For(retry).ExecuteAsync(async ct =>
                {
                    tryStarted = clock.Elapsed;
                    tries++;
                    return await client.GetResponseAsync(messages, options, ct).ConfigureAwait(false);
                }, token, async (_, failure, delay) =>
                {
                    Diagnostics.Narration.Retrying(active, failure, delay, tries, retry.MaxRetries + 1);
                    recorded++;
                    await recordTry(active.Id, Failed(failure, delay)).ConfigureAwait(false);
                }).ConfigureAwait(false);
                var inputTokens = response.Usage?.InputTokenCount;
                var outputTokens = response.Usage?.OutputTokenCount;
                var attempt = Record(LlmAttemptOutcome.Succeeded) with
                {
                    Output = response.Text,
                    InputTokens = inputTokens,
                    OutputTokens = outputTokens,
                    CostUsd = response.AdditionalProperties?.TryGetValue(ResponseProperties.CostUsd, out var cost) == true
                        ? Convert.ToDecimal(cost, System.Globalization.CultureInfo.InvariantCulture)
                        : active.Model is { } model ? ModelPrices.Cost(model, inputTokens, outputTokens) : null,
                    DetailsJson = response.AdditionalProperties?.TryGetValue(ResponseProperties.Details, out var details) == true ? details as string : null,
                };
                if (!request.WantsJson)
                {
                    return (attempt, LlmTaskState.Completed);
                }

                var native = response.AdditionalProperties?.TryGetValue(ResponseProperties.StructuredOutput, out var structured) == true ? structured as string : null;
                return StructuredAnswer.TryRead(native ?? response.Text, out var json, out var problem)
                    ? (attempt with { StructuredOutput = json }, LlmTaskState.Completed)
                    : (attempt with { Outcome = LlmAttemptOutcome.Failed, Error = problem, ErrorKind = StructuredAnswer.InvalidJsonKind }, LlmTaskState.Failed);
            }
        }
        // Whatever a provider throws once the call's token is cancelled (some turn it into an I/O error),
        // the reason decides: Stop, shutdown or the timeout.
        catch (Exception e) when ((e is OperationCanceledException || token.IsCancellationRequested) && active.Reason == CancelReason.User)
        {
            return (Ended(LlmAttemptOutcome.Cancelled) with { Error = "Stopped by Stop-LlmTask.", ErrorKind = "Cancelled" }, LlmTaskState.Cancelled);
        }
        catch (Exception e) when ((e is OperationCanceledException || token.IsCancellationRequested) && active.Reason == CancelReason.Shutdown)
        {
            return (Ended(LlmAttemptOutcome.Interrupted) with
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
            return (Ended(LlmAttemptOutcome.Failed) with
            {
                Error = $"The call to {request.Model} did not finish{limit} (after {clock.Elapsed.TotalSeconds:0.###} s, {Math.Max(tries, 1)} tries).{said}",
                ErrorKind = "Timeout",
            }, LlmTaskState.Failed);
        }
        catch (Exception e)
        {
            var failure = CallErrors.Classify(e, retry.TimeProvider, token);
            if (failure.Transient && tries > 1)
            {
                failure = failure with { Message = $"{failure.Message} (gave up after {tries} tries)" };
            }

            return (Failed(failure, null), LlmTaskState.Failed);
        }
    }

    /// <summary>What the attempt row keeps about a failure: HTTP status, whether it was retried and after how long.</summary>
    private static string FailureDetails(CallFailure failure, TimeSpan? retryDelay, int tries)
    {
        var details = new System.Text.Json.Nodes.JsonObject
        {
            ["try"] = Math.Max(tries, 1),
            ["transient"] = failure.Transient,
        };
        if (failure.Status is { } status)
        {
            details["status"] = status;
        }

        if (failure.RetryAfter is { } after)
        {
            details["retryAfterMs"] = (long)after.TotalMilliseconds;
        }

        if (retryDelay is { } delay)
        {
            details["retryDelayMs"] = (long)delay.TotalMilliseconds;
        }

        if (failure.ProviderDetails is { } provider)
        {
            try
            {
                details["provider"] = System.Text.Json.Nodes.JsonNode.Parse(provider);
            }
            catch (System.Text.Json.JsonException)
            {
                details["provider"] = provider;
            }
        }

        return details.ToJsonString();
    }

    private static List<ChatMessage> ToChatMessages(LlmTaskRequest request) =>
        request.Messages.Select(m => new ChatMessage(m.Role switch
        {
            LlmRole.System => ChatRole.System,
            LlmRole.Assistant => ChatRole.Assistant,
            _ => ChatRole.User,
        }, m.Content)).ToList();

    internal static ChatOptions ToChatOptions(LlmTaskRequest request, ActiveTask active) => new()
    {
        ModelId = active.Model?.Model,
        Temperature = request.Temperature is { } t ? (float)t : null,
        MaxOutputTokens = request.MaxTokens,
        StopSequences = request.StopSequences?.ToList(),
        ResponseFormat = request.JsonSchema is { } schema
            ? ChatResponseFormat.ForJsonSchema(System.Text.Json.JsonDocument.Parse(schema).RootElement.Clone(), "response")
            : request.ResponseFormat == LlmResponseFormat.Json ? ChatResponseFormat.Json : null,
    };
}

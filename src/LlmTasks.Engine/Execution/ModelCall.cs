using System.Diagnostics;
using LlmTasks.Providers;
using LlmTasks.Providers.Mock;
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
        Func<long, AttemptRecord, Task> recordTry, CancellationToken token)
    {
        var clock = Stopwatch.StartNew();
        // The first call sends the task's own request: the attempt row points at it instead of a second copy.
        var requestJson = ReferenceEquals(request, active.Task.Request) ? null : StoreJson.Serialize(request);
        AttemptRecord Record(LlmAttemptOutcome outcome) => new()
        {
            Outcome = outcome,
            StartedAtMs = startedAtMs,
            LatencyMs = clock.Elapsed.TotalMilliseconds,
            RequestJson = requestJson,
        };

        try
        {
            if (active.ResolveError is { } resolveError)
            {
                throw resolveError;
            }

            var client = request.MockResponse is { } fixedText
                ? MockChatClient.Respond(fixedText)
                : active.Provider!.CreateClient(active.Model!.Value, new ProviderCallContext(active.Id, request, active.Secrets));
            using (client)
            {
                var response = await client.GetResponseAsync(ToChatMessages(request), ToChatOptions(request, active), token).ConfigureAwait(false);
                var attempt = Record(LlmAttemptOutcome.Succeeded) with
                {
                    Output = response.Text,
                    InputTokens = response.Usage?.InputTokenCount,
                    OutputTokens = response.Usage?.OutputTokenCount,
                    CostUsd = response.AdditionalProperties?.TryGetValue(ResponseProperties.CostUsd, out var cost) == true ? Convert.ToDecimal(cost, System.Globalization.CultureInfo.InvariantCulture) : null,
                    DetailsJson = response.AdditionalProperties?.TryGetValue(ResponseProperties.Details, out var details) == true ? details as string : null,
                };
                if (!request.WantsJson)
                {
                    return (attempt, LlmTaskState.Completed);
                }

                var native = response.AdditionalProperties?.TryGetValue(ResponseProperties.StructuredOutput, out var structured) == true ? structured as string : null;
                return StructuredAnswer.TryRead(native ?? response.Text, out var json, out var problem)
                    ? (attempt with { StructuredOutput = json }, LlmTaskState.Completed)
                    : (attempt with { Outcome = LlmAttemptOutcome.Failed, Error = problem, ErrorKind = "InvalidJson" }, LlmTaskState.Failed);
            }
        }
        catch (OperationCanceledException) when (active.Reason == CancelReason.User)
        {
            return (Record(LlmAttemptOutcome.Cancelled) with { Error = "Stopped by Stop-LlmTask.", ErrorKind = "Cancelled" }, LlmTaskState.Cancelled);
        }
        catch (OperationCanceledException) when (active.Reason == CancelReason.Shutdown)
        {
            return (Record(LlmAttemptOutcome.Interrupted) with
            {
                Error = "The process running the call shut down before it ended; the task went back to Pending.",
                ErrorKind = "Interrupted",
            }, null);
        }
        catch (OperationCanceledException) when (active.TimedOut || !token.IsCancellationRequested)
        {
            var limit = request.TimeoutSec is { } s ? $" within -TimeoutSec {s}" : string.Empty;
            return (Record(LlmAttemptOutcome.Failed) with
            {
                Error = $"The call to {request.Model} did not finish{limit} (after {clock.Elapsed.TotalSeconds:0.###} s).",
                ErrorKind = "Timeout",
            }, LlmTaskState.Failed);
        }
        catch (Exception e)
        {
            var (kind, message) = CallErrors.Classify(e);
            return (Record(LlmAttemptOutcome.Failed) with { Error = message, ErrorKind = kind }, LlmTaskState.Failed);
        }
    }

    private static List<ChatMessage> ToChatMessages(LlmTaskRequest request) =>
        request.Messages.Select(m => new ChatMessage(m.Role switch
        {
            LlmRole.System => ChatRole.System,
            LlmRole.Assistant => ChatRole.Assistant,
            _ => ChatRole.User,
        }, m.Content)).ToList();

    private static ChatOptions ToChatOptions(LlmTaskRequest request, ActiveTask active) => new()
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

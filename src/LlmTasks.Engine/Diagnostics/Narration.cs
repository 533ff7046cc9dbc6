using System.Globalization;
using LlmTasks.Execution;
using LlmTasks.Execution.Pipeline;
using LlmTasks.Providers;
using LlmTasks.Storage;
using LlmTasks.Verification;
using Microsoft.Extensions.AI;

namespace LlmTasks.Diagnostics;

/// <summary>
/// What the engine tells -Verbose and -Debug, in one place: the store opened, tasks stored, each call
/// sent (provider, model, endpoint), each retry and its wait, each call's end, each check's result.
/// Every method returns at once when no one listens. Nothing here holds a key: endpoints lose their
/// user info and query, errors are the attempts' own (already redacted) texts.
/// </summary>
internal static class Narration
{
    public static void StoreOpened(ITaskStore store)
    {
        if (EngineEvents.Enabled)
        {
            EngineEvents.Verbose($"Opened the task store '{store.Path}' (schema version {store.SchemaVersion}, {(store.ReadOnlyReason is { } why ? "read-only: " + why : "read-write")}).", store.Path);
        }
    }

    public static void TaskStored(LlmTask task)
    {
        if (EngineEvents.Enabled)
        {
            EngineEvents.Verbose($"Stored{Named(task)} ({task.Model}); it runs in this session.", task.StorePath, task.Id);
        }
    }

    public static void CallStarting(CallScope scope, IChatClient client)
    {
        if (!EngineEvents.Enabled)
        {
            return;
        }

        var where = scope.Request.MockResponse is not null
            ? "answered offline (-MockResponse)"
            : client.GetService(typeof(ChatClientMetadata)) is ChatClientMetadata metadata
                ? metadata.ProviderUri is { } uri ? $"at {Printable(uri)}" : $"with {metadata.ProviderName ?? scope.Model?.Provider}"
                : $"with the {scope.Model?.Provider ?? "unknown"} provider";
        EngineEvents.Verbose($"{Calling(scope)} {scope.Request.Model} {where}.", scope.Store, scope.TaskId);
    }

    public static void Retrying(CallScope scope, CallFailure failure, TimeSpan delay)
    {
        if (EngineEvents.Enabled)
        {
            var status = failure.Status is { } s ? $", HTTP {s}" : string.Empty;
            var partial = scope.Last?.PartialText is { Length: > 0 } text ? $" after {text.Length} characters" : string.Empty;
            EngineEvents.Verbose(
                $"{(scope.Purpose == "judge" ? "The judge's try" : "Try")} {scope.Tries} of {scope.Retry.MaxRetries + 1} failed ({failure.Kind}{status}{partial}); trying again in {Seconds(delay)} s. {CallErrors.Redact(failure.Message, scope.Secrets)}",
                scope.Store, scope.TaskId);
        }
    }

    public static void Pacing(CallScope scope, TimeSpan wait, IReadOnlyList<Execution.Limits.RateLane> lanes)
    {
        if (EngineEvents.Enabled)
        {
            var limits = string.Join("; ", lanes.Select(l => (Lane: l, Pace: l.Pace())).Where(l => l.Pace.Requests is not null || l.Pace.Tokens is not null).Select(l =>
                $"{l.Lane.Scope} at {string.Join(" and ", new[] { l.Pace.Requests is { } r ? $"{r:0.#} requests" : null, l.Pace.Tokens is { } t ? $"{t:0} tokens" : null }.Where(p => p is not null))} a minute" +
                (l.Lane.SharedBy > 1 ? $" (this process's share: {l.Lane.SharedBy} share the limit)" : string.Empty)));
            EngineEvents.Verbose($"Waiting {Seconds(wait)} s for the rate limit before calling {scope.Request.Model}: {(limits.Length == 0 ? "the provider asked to wait" : limits)}.", scope.Store, scope.TaskId);
        }
    }

    public static void FallingBack(Execution.ActiveTask task, AttemptRecord last, string next)
    {
        if (EngineEvents.Enabled)
        {
            EngineEvents.Verbose($"{task.Task.Request.Model} failed ({last.ErrorKind}); falling back to {next} (-Fallback).", task.Task.StorePath, task.Id);
        }
    }

    public static void CallFinished(CallScope scope, AttemptRecord attempt)
    {
        if (!EngineEvents.Enabled)
        {
            return;
        }

        var latency = attempt.LatencyMs is { } ms ? $" in {ms.ToString("0", CultureInfo.InvariantCulture)} ms" : string.Empty;
        var tokens = attempt.InputTokens is null && attempt.OutputTokens is null
            ? string.Empty
            : $", {attempt.InputTokens?.ToString(CultureInfo.InvariantCulture) ?? "?"} input and {attempt.OutputTokens?.ToString(CultureInfo.InvariantCulture) ?? "?"} output tokens";
        var cost = attempt.CostUsd is { } usd ? $", about {usd.ToString("0.######", CultureInfo.InvariantCulture)} USD" : string.Empty;
        var first = attempt.FirstTokenMs is { } f ? $" (first token after {f.ToString("0", CultureInfo.InvariantCulture)} ms)" : string.Empty;
        var call = scope.Purpose == "judge" ? "The judge's call to" : "The call to";
        var text = attempt.Outcome == LlmAttemptOutcome.Succeeded
            ? $"{call} {scope.Request.Model} succeeded{latency}{first}{tokens}{cost}."
            : $"{call} {scope.Request.Model} ended {attempt.Outcome}{(attempt.ErrorKind is { } kind ? $" ({kind})" : string.Empty)}{(latency.Length > 0 ? ", its last try" + latency : string.Empty)}{tokens}: {attempt.Error}";
        EngineEvents.Verbose(text, scope.Store, scope.TaskId);
    }

    private static string Calling(CallScope scope) => scope.Purpose == "judge" ? "Asking the judge" : "Calling";

    public static void CheckResult(LlmTask? task, LlmCheckResult result)
    {
        if (EngineEvents.Enabled)
        {
            var label = string.IsNullOrWhiteSpace(result.Name) || result.Name == result.Type ? result.Type : $"{result.Name} ({result.Type})";
            var verdict = result.Passed ? "passed" : result.Unavailable ? "could not run" : "failed";
            var reason = string.IsNullOrWhiteSpace(result.Reason) ? string.Empty : $": {result.Reason}";
            EngineEvents.Debug($"Check {result.Index} {label} {verdict} in {result.Duration.TotalMilliseconds.ToString("0", CultureInfo.InvariantCulture)} ms{reason}",
                task?.StorePath, task?.Id);
        }
    }

    /// <summary>An endpoint as it may be shown: scheme, host, port and path; never user info (user:key@) or a query (?key=).</summary>
    internal static string Printable(Uri uri) =>
        uri.IsAbsoluteUri ? uri.GetComponents(UriComponents.SchemeAndServer | UriComponents.Path, UriFormat.UriEscaped) : "(a relative endpoint)";

    private static string Named(LlmTask task) => string.IsNullOrEmpty(task.Name) ? string.Empty : $" '{task.Name}'";

    private static string Seconds(TimeSpan delay) => delay.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture);
}

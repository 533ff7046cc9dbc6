using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using LlmTasks.Execution;
using LlmTasks.Execution.Pipeline;
using LlmTasks.Storage;
using LlmTasks.Verification;
using Microsoft.Extensions.AI;

namespace LlmTasks.Diagnostics;

/// <summary>
/// The engine's OpenTelemetry instruments, on the ActivitySource and Meter "LlmTasks" (Microsoft.Extensions.AI's GenAI
/// client uses the same name, so one AddSource/AddMeter takes all of it). Spans: <c>llmtasks.task</c> (a task's run in
/// this process), <c>llmtasks.attempt</c> (one try of a model call: an attempt row), with the GenAI client's
/// <c>chat {model}</c> span inside it, <c>llmtasks.check</c> (one verification check) and <c>llmtasks.store.claim</c>
/// (a claim pass that took tasks). Metrics: gen_ai.client.operation.duration and gen_ai.client.token.usage (the GenAI
/// client), llmtasks.attempts (tries by outcome), llmtasks.tasks (tasks by state, per open store) and
/// llmtasks.queue.depth (tasks this process holds and has not started). Attributes never hold a key
/// (<see cref="TelemetryExport"/> redacts every string attribute on the way out) and hold message content only where
/// the GenAI client is asked to capture it.
/// </summary>
internal static class EngineTelemetry
{
    public const string SourceName = "LlmTasks";

    private static readonly string Version = typeof(EngineTelemetry).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";
    public static readonly ActivitySource Source = new(SourceName, Version);
    public static readonly Meter Meter = new(SourceName, Version);
    private static readonly Counter<long> AttemptCount = Meter.CreateCounter<long>("llmtasks.attempts", "{attempt}", "Model call tries (each an attempt row), by outcome and error type.");
    private static readonly ConcurrentDictionary<TaskManager, byte> Managers = new();

    static EngineTelemetry()
    {
        Meter.CreateObservableGauge("llmtasks.tasks", TasksByState, "{task}", "Tasks in each open store, by state.");
        Meter.CreateObservableGauge("llmtasks.queue.depth", QueueDepth, "{task}", "Tasks this process holds and has not started yet, per store.");
    }

    /// <summary>Whether anything observes model calls (a tracer or meter listens): the GenAI client joins the pipeline only then.</summary>
    public static bool ModelCallsObserved => Source.HasListeners() || AttemptCount.Enabled;

    public static void Register(TaskManager manager) => Managers.TryAdd(manager, 0);

    public static void Unregister(TaskManager manager) => Managers.TryRemove(manager, out _);

    public static Activity? StartTask(LlmTask task, Providers.ModelId? model)
    {
        if (!Source.HasListeners())
        {
            return null;
        }

        var activity = Source.StartActivity("llmtasks.task", ActivityKind.Internal, parentContext: default);
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag("llmtasks.task.id", task.Id);
            activity.SetTag("llmtasks.task.instance_id", task.InstanceId.ToString("D"));
            activity.SetTag("llmtasks.store", task.StorePath);
            activity.SetTag("gen_ai.request.model", model?.Model ?? task.Model);
            activity.SetTag("gen_ai.provider.name", model?.Provider);
            if (task.Name is { } name)
            {
                activity.SetTag("llmtasks.task.name", name);
            }
        }

        return activity;
    }

    public static void EndTask(Activity? activity, LlmTask? written, AttemptRecord? attempt, LlmTaskState? state)
    {
        if (activity is null)
        {
            return;
        }

        var final = written?.State ?? state;
        activity.SetTag("llmtasks.task.state", final?.ToString() ?? "Pending");
        if (written is not null)
        {
            activity.SetTag("llmtasks.task.attempts", written.Attempts);
        }

        if (attempt?.ErrorKind is { } kind && final is not LlmTaskState.Completed)
        {
            activity.SetTag("error.type", kind);
            activity.SetStatus(ActivityStatusCode.Error, attempt.Error);
        }
    }

    public static Activity? StartAttempt(CallScope scope, int tryNumber)
    {
        if (!Source.HasListeners())
        {
            return null;
        }

        var activity = Source.StartActivity("llmtasks.attempt", ActivityKind.Internal);
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag("llmtasks.task.id", scope.TaskId);
            activity.SetTag("llmtasks.call.purpose", scope.Purpose);
            activity.SetTag("llmtasks.attempt.try", tryNumber);
            activity.SetTag("gen_ai.operation.name", "chat");
            activity.SetTag("gen_ai.provider.name", scope.Model?.Provider);
            activity.SetTag("gen_ai.request.model", scope.Model?.Model ?? scope.Request.Model);
            activity.SetTag("llmtasks.streaming", scope.Streaming);
        }

        return activity;
    }

    public static void EndAttempt(Activity? activity, CallScope scope, ChatResponse? response, Exception? error)
    {
        var outcome = response is not null ? "Succeeded" : error is OperationCanceledException ? "Cancelled" : "Failed";
        var kind = error switch
        {
            null => null,
            ModelCallException m => m.Failure.Kind,
            Polly.Timeout.TimeoutRejectedException or OperationCanceledException => error is OperationCanceledException && error is not Polly.Timeout.TimeoutRejectedException ? "Cancelled" : "Timeout",
            _ => error.GetType().Name,
        };
        if (AttemptCount.Enabled)
        {
            AttemptCount.Add(1, new KeyValuePair<string, object?>("llmtasks.attempt.outcome", outcome),
                new KeyValuePair<string, object?>("error.type", kind), new KeyValuePair<string, object?>("gen_ai.provider.name", scope.Model?.Provider));
        }

        if (activity is null)
        {
            return;
        }

        activity.SetTag("llmtasks.attempt.outcome", outcome);
        if (scope.Last is { FirstTokenMs: { } first })
        {
            activity.SetTag("llmtasks.time_to_first_token", first / 1000.0);
        }

        if (response is not null)
        {
            if (response.Usage?.InputTokenCount is { } input)
            {
                activity.SetTag("gen_ai.usage.input_tokens", input);
            }

            if (response.Usage?.OutputTokenCount is { } output)
            {
                activity.SetTag("gen_ai.usage.output_tokens", output);
            }

            if (response.ModelId is { } responseModel)
            {
                activity.SetTag("gen_ai.response.model", responseModel);
            }
        }
        else if (kind is not null)
        {
            activity.SetTag("error.type", kind);
            activity.SetStatus(ActivityStatusCode.Error, error is ModelCallException m ? m.Failure.Message : error?.Message);
            if (scope.Last?.PartialText is { Length: > 0 } partial)
            {
                activity.SetTag("llmtasks.attempt.partial_chars", partial.Length);
            }
        }
    }

    /// <summary>The cost, once the attempt row knows it.</summary>
    public static void Cost(Activity? activity, decimal? costUsd)
    {
        if (activity is not null && costUsd is { } cost)
        {
            activity.SetTag("llmtasks.cost_usd", (double)cost);
        }
    }

    public static Activity? StartCheck(CheckSpec spec, int index, LlmTask? task)
    {
        if (!Source.HasListeners())
        {
            return null;
        }

        var activity = Source.StartActivity("llmtasks.check", ActivityKind.Internal);
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag("llmtasks.check.type", spec.Type);
            activity.SetTag("llmtasks.check.index", index);
            if (spec.Name is { } name)
            {
                activity.SetTag("llmtasks.check.name", name);
            }

            if (task is not null)
            {
                activity.SetTag("llmtasks.task.id", task.Id);
            }
        }

        return activity;
    }

    public static void EndCheck(Activity? activity, LlmCheckResult result)
    {
        if (activity is null)
        {
            return;
        }

        activity.SetTag("llmtasks.check.passed", result.Passed);
        activity.SetTag("llmtasks.check.unavailable", result.Unavailable);
        if (result.ErrorKind is { } kind)
        {
            activity.SetTag("error.type", kind);
            activity.SetStatus(ActivityStatusCode.Error, result.Reason);
        }
    }

    /// <summary>A claim pass that took tasks (passes that find nothing make no span: they run every second).</summary>
    public static void Claimed(string store, string purpose, IReadOnlyCollection<long> taken, DateTimeOffset started)
    {
        if (taken.Count == 0 || !Source.HasListeners())
        {
            return;
        }

        using var activity = Source.StartActivity("llmtasks.store.claim", ActivityKind.Internal, parentContext: default, startTime: started);
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag("llmtasks.store", store);
            activity.SetTag("llmtasks.claim.for", purpose);
            activity.SetTag("llmtasks.claim.count", taken.Count);
        }
    }

    private static IEnumerable<Measurement<long>> TasksByState()
    {
        foreach (var manager in Managers.Keys)
        {
            IReadOnlyDictionary<LlmTaskState, long> counts;
            try
            {
                counts = manager.Store.CountByState();
            }
            catch (Exception)
            {
                continue; // a store that cannot be read now is left out of this sample
            }

            foreach (var (state, count) in counts)
            {
                yield return new Measurement<long>(count, new KeyValuePair<string, object?>("llmtasks.task.state", state.ToString()),
                    new KeyValuePair<string, object?>("llmtasks.store", manager.StorePath));
            }
        }
    }

    private static IEnumerable<Measurement<long>> QueueDepth() =>
        Managers.Keys.Select(m => new Measurement<long>(m.QueuedCount, new KeyValuePair<string, object?>("llmtasks.store", m.StorePath)));
}

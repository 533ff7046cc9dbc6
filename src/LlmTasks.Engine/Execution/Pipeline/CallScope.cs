using System.Text.Json.Nodes;
using LlmTasks.Providers;
using LlmTasks.Providers.Pricing;
using LlmTasks.Storage;
using Microsoft.Extensions.AI;

namespace LlmTasks.Execution.Pipeline;

/// <summary>
/// One model call as the pipeline's decorators see it: what it sends and for whom, where its failed tries go,
/// and what each try measured. The decorators of one call share it; <see cref="ModelPipeline"/> makes it
/// into the call's attempt records (one per try: a failed try before a retry, then the last one).
/// </summary>
internal sealed class CallScope
{
    private long _tryStarted;

    public required LlmTaskRequest Request { get; init; }

    /// <summary>The request as stored on the attempt row; null: the task's own request (the row points at it).</summary>
    public string? RequestJson { get; init; }

    /// <summary>The model routed to (null when it could not be routed).</summary>
    public ModelId? Model { get; init; }

    public long TaskId { get; init; }

    /// <summary>The store the call's task lives in, for narration.</summary>
    public string? Store { get; init; }

    public TaskSecrets? Secrets { get; init; }

    public required RetryOptions Retry { get; init; }

    /// <summary>Paces the call's tries to the rate limits of its store's processes (null: not paced, as a judge's call).</summary>
    public Limits.RateGovernor? Rates { get; init; }

    /// <summary>True when the call's provider states its rate limits in its answers (<see cref="IChatClientProvider.ReportsRateLimits"/>).</summary>
    public bool ReportsRateLimits { get; init; }

    /// <summary>The task's -MaxCostUsd and what it has cost so far (null: no cap).</summary>
    public Limits.TaskSpend? Spend { get; init; }

    /// <summary>How long the tries waited for the rate limits, together.</summary>
    public TimeSpan PacedFor { get; set; }

    public TimeProvider Time => Retry.TimeProvider;

    /// <summary>Keeps a failed try that will be retried as an attempt row of its own.</summary>
    public Func<AttemptRecord, Task>? RecordTry { get; init; }

    /// <summary>Where streamed text goes while it arrives; null: nowhere (a judge's verdict).</summary>
    public ICallOutput? Output { get; init; }

    /// <summary>Ask the provider for a stream where it can give one.</summary>
    public bool Streaming { get; init; }

    /// <summary>"task" or "judge": what the call is for, on its spans.</summary>
    public string Purpose { get; init; } = "task";

    /// <summary>Facts added to every attempt row of the call (a judge's {"judge":true,"check":…}).</summary>
    public IReadOnlyDictionary<string, JsonNode?>? Details { get; init; }

    /// <summary>When the call began (wall clock, UTC ms): the first try's start.</summary>
    public required long StartedAtMs { get; init; }

    /// <summary>Tries begun so far.</summary>
    public int Tries { get; private set; }

    /// <summary>Tries already kept as rows (failed before a retry).</summary>
    public int Recorded { get; private set; }

    /// <summary>What the latest try measured (null before the first).</summary>
    public TryFacts? Last { get; private set; }

    /// <summary>The latest try's answer, when it succeeded.</summary>
    public ChatResponse? Response { get; private set; }

    /// <summary>A try begins now.</summary>
    public int BeginTry()
    {
        _tryStarted = Time.GetTimestamp();
        _callStarted ??= _tryStarted;
        Tries++;
        Response = null;
        Last = new TryFacts(Tries, StartedAtMs + (long)Time.GetElapsedTime(_callStarted.Value, _tryStarted).TotalMilliseconds, null, null, null);
        Output?.TryStarted(Tries);
        return Tries;
    }

    private long? _callStarted;

    /// <summary>The first piece of the answer arrived.</summary>
    public void FirstToken()
    {
        if (Last is { FirstTokenMs: null } last)
        {
            Last = last with { FirstTokenMs = Time.GetElapsedTime(_tryStarted).TotalMilliseconds };
        }
    }

    /// <summary>The try ended (with <paramref name="response"/>, or failing with whatever text had arrived).</summary>
    public void EndTry(ChatResponse? response, string? partialText)
    {
        if (Last is { } last)
        {
            Last = last with { LatencyMs = Time.GetElapsedTime(_tryStarted).TotalMilliseconds, PartialText = partialText };
        }

        Response = response;
    }

    /// <summary>A failed try will be retried: its row, with the wait before the next try.</summary>
    public AttemptRecord RetriedTry(CallFailure failure, TimeSpan delay)
    {
        Recorded++;
        return Failed(failure, delay);
    }

    /// <summary>The row of the latest try, which succeeded.</summary>
    /// <summary>What an answer cost: as the provider said, else from the price map (null: unpriced).</summary>
    public decimal? CostOf(ChatResponse response) =>
        response.AdditionalProperties?.TryGetValue(ResponseProperties.CostUsd, out var cost) == true
            ? Convert.ToDecimal(cost, System.Globalization.CultureInfo.InvariantCulture)
            : Model is { } model ? ModelPrices.Cost(model, response.Usage?.InputTokenCount, response.Usage?.OutputTokenCount, response.Usage?.CachedInputTokenCount, batch: false) : null;

    public AttemptRecord Succeeded(ChatResponse response)
    {
        var input = response.Usage?.InputTokenCount;
        var output = response.Usage?.OutputTokenCount;
        return Row(LlmAttemptOutcome.Succeeded) with
        {
            Output = response.Text,
            InputTokens = input,
            OutputTokens = output,
            CostUsd = CostOf(response),
            DetailsJson = WithDetails(response.AdditionalProperties?.TryGetValue(ResponseProperties.Details, out var details) == true ? details as string : null),
        };
    }

    /// <summary>The row of the latest try, which failed: the text it had streamed stays on it as its Output.</summary>
    public AttemptRecord Failed(CallFailure failure, TimeSpan? retryDelay) => Row(LlmAttemptOutcome.Failed) with
    {
        Output = Last?.PartialText is { Length: > 0 } partial ? partial : null,
        Error = CallErrors.Redact(failure.Message, Secrets),
        ErrorKind = failure.Kind,
        DetailsJson = WithDetails(FailureDetails(failure, retryDelay)),
    };

    /// <summary>
    /// Stopped, timed out or shut down: the call's last row when a try was in flight, else (before the first try, or in
    /// the wait between two whose failed tries have their rows) a record that changes the task's state with no call behind it.
    /// </summary>
    public AttemptRecord Ended(LlmAttemptOutcome outcome)
    {
        var inFlight = Tries > Recorded;
        var row = Row(outcome) with { CallMade = inFlight };
        return inFlight && Last is { LatencyMs: null } ? row with { LatencyMs = Time.GetElapsedTime(_tryStarted).TotalMilliseconds } : row;
    }

    private AttemptRecord Row(LlmAttemptOutcome outcome) => new()
    {
        Outcome = outcome,
        StartedAtMs = Last?.StartedAtMs ?? StartedAtMs,
        LatencyMs = Last?.LatencyMs ?? (Tries == 0 ? 0 : null),
        FirstTokenMs = Last?.FirstTokenMs,
        RequestJson = RequestJson,
        Output = Last?.PartialText is { Length: > 0 } partial && outcome != LlmAttemptOutcome.Succeeded ? partial : null,
    };

    /// <summary>What the attempt row keeps about a failure: HTTP status, whether it was retried and after how long.</summary>
    private string FailureDetails(CallFailure failure, TimeSpan? retryDelay)
    {
        var details = new JsonObject
        {
            ["try"] = Math.Max(Tries, 1),
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

        if (Last?.PartialText is { Length: > 0 } partial)
        {
            details["partialChars"] = partial.Length;
        }

        if (failure.ProviderDetails is { } provider)
        {
            try
            {
                details["provider"] = JsonNode.Parse(provider);
            }
            catch (System.Text.Json.JsonException)
            {
                details["provider"] = provider;
            }
        }

        return details.ToJsonString();
    }

    /// <summary>The provider's facts with the call's own (<see cref="Details"/>) added.</summary>
    private string? WithDetails(string? json)
    {
        if (Details is not { Count: > 0 } extra)
        {
            return json;
        }

        JsonObject merged;
        try
        {
            merged = json is null ? new JsonObject() : JsonNode.Parse(json) as JsonObject ?? new JsonObject { ["provider"] = JsonNode.Parse(json) };
        }
        catch (System.Text.Json.JsonException)
        {
            merged = new JsonObject { ["provider"] = json };
        }

        foreach (var (key, value) in extra)
        {
            merged[key] = value?.DeepClone();
        }

        return merged.ToJsonString();
    }
}

/// <summary>What one try measured: when it began (UTC ms), how long it took, when its first token came, the text it streamed.</summary>
internal sealed record TryFacts(int Number, long StartedAtMs, double? LatencyMs, double? FirstTokenMs, string? PartialText);

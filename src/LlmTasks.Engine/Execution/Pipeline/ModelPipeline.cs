using Microsoft.Extensions.AI;

namespace LlmTasks.Execution.Pipeline;

/// <summary>
/// Every model call (a task's call, a re-ask, a judge's call, max/*) goes through this one pipeline, composed with
/// Microsoft.Extensions.AI's <see cref="ChatClientBuilder"/> from small decorators, outermost first:
/// <list type="number">
/// <item><see cref="CallLogging"/>: the narration (-Verbose/-Debug, OpenTelemetry logs);</item>
/// <item><see cref="TransientRetry"/>: the Polly retry with its per-try timeout on the call's TimeProvider, each failed try an attempt row;</item>
/// <item><see cref="RatePacing"/>: per try, waits for the rate limits (configured, learned from the headers, shared by the store's processes);</item>
/// <item><see cref="AttemptRecorder"/>: per try: latency, time to first token, tokens, cost, streaming and partial output, the attempt span;</item>
/// <item><see cref="ErrorTranslation"/>: whatever the provider threw, classified (kind, transient or not);</item>
/// <item><see cref="CallTelemetry"/>: the GenAI span and metrics of Microsoft.Extensions.AI's OpenTelemetry client (while something listens);</item>
/// </list>
/// then the provider's own client. A new concern (a rate limiter, a batch) is one more decorator here.
/// </summary>
internal static class ModelPipeline
{
    public static IChatClient Build(IChatClient provider, CallScope scope) =>
        new ChatClientBuilder(provider)
            .Use(inner => new CallLogging(inner, scope))
            .Use(inner => new TransientRetry(inner, scope))
            .Use(inner => scope.Rates is null ? inner : new RatePacing(inner, scope))
            .Use(inner => new AttemptRecorder(inner, scope))
            .Use(inner => new ErrorTranslation(inner, scope))
            .Use(inner => Diagnostics.EngineTelemetry.ModelCallsObserved ? new CallTelemetry(inner, scope) : inner)
            .Build();
}

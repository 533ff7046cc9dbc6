using Microsoft.Extensions.AI;

namespace LlmTasks.Execution.Pipeline;

/// <summary>
/// Every model call (a task's call, a re-ask, a judge's call, max/*) goes through this one pipeline, composed with
/// Microsoft.Extensions.AI's <see cref="ChatClientBuilder"/> from small decorators, outermost first:
/// <list type="number">
/// <item><see cref="CallLogging"/>: the narration (-Verbose/-Debug, OpenTelemetry logs);</item>
/// <item><see cref="TransientRetry"/>: the Polly retry with its per-try timeout on the call's TimeProvider, each failed try an attempt row;</item>
/// <item><see cref="SpendCap"/>: per try, the task's -MaxCostUsd: a try that would pass it is not sent (CostLimit), each answer's cost is counted;</item>
/// <item><see cref="RatePacing"/>: per try, waits for the rate limits (configured, learned from the headers, shared by the store's processes);</item>
/// <item><see cref="AttemptRecorder"/>: per try: latency, time to first token, tokens, cost, streaming and partial output, the attempt span;</item>
/// <item><see cref="ErrorTranslation"/>: whatever the provider threw, classified (kind, transient or not);</item>
/// <item><see cref="CallTelemetry"/>: the GenAI span and metrics of Microsoft.Extensions.AI's OpenTelemetry client (while something listens);</item>
/// </list>
/// then the provider's own client. A new concern (a rate limiter, a batch) is one more decorator here.
/// </summary>
internal static class ModelPipeline
{
    /// <summary>
    /// Built once: the builder's factories read the call's provider client and scope from the services a call builds with, so
    /// a call allocates its decorators and nothing else (a builder per call cost about 1 KB per task in scenario 1).
    /// </summary>
    private static readonly ChatClientBuilder Builder =
        new ChatClientBuilder(services => Of(services).Provider)
            .Use((inner, services) => new CallLogging(inner, Of(services).Scope))
            .Use((inner, services) => new TransientRetry(inner, Of(services).Scope))
            .Use((inner, services) => Of(services).Scope.Spend is null ? inner : new SpendCap(inner, Of(services).Scope))
            .Use((inner, services) => Of(services).Scope.Rates is null ? inner : new RatePacing(inner, Of(services).Scope))
            .Use((inner, services) => new AttemptRecorder(inner, Of(services).Scope))
            .Use((inner, services) => new ErrorTranslation(inner, Of(services).Scope))
            .Use((inner, services) => Diagnostics.EngineTelemetry.ModelCallsObserved ? new CallTelemetry(inner, Of(services).Scope) : inner);

    public static IChatClient Build(IChatClient provider, CallScope scope) => Builder.Build(new CallServices(provider, scope));

    private static CallServices Of(IServiceProvider services) => (CallServices)services;

    /// <summary>What one call's pipeline is built from: the provider's client for the call, and the call's scope.</summary>
    private sealed class CallServices(IChatClient provider, CallScope scope) : IServiceProvider
    {
        public IChatClient Provider => provider;

        public CallScope Scope => scope;

        public object? GetService(Type serviceType) => serviceType == typeof(CallScope) ? scope : null;
    }
}

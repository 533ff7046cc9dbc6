using System.Runtime.CompilerServices;
using Polly;
using Polly.Retry;
using Polly.Timeout;

namespace LlmTasks.Execution;

/// <summary>
/// The Polly pipeline for model calls: a retry around a per-try timeout. Built once per
/// <see cref="RetryOptions"/> (building validates options and allocates: not something to do per call);
/// each call's token and retry callback travel in its pooled <see cref="ResilienceContext"/>.
/// </summary>
internal sealed class RetryPipeline
{
    private static readonly ConditionalWeakTable<RetryOptions, RetryPipeline> Cache = new();
    private static readonly ResiliencePropertyKey<CallState> State = new("LlmTasks.Call");
    private readonly ResiliencePipeline _pipeline;
    private readonly RetryOptions _options;

    private RetryPipeline(RetryOptions options)
    {
        options.Validate();
        _options = options;
        var builder = new ResiliencePipelineBuilder { TimeProvider = options.TimeProvider };
        if (options.MaxRetries > 0)
        {
            builder.AddRetry(new RetryStrategyOptions
            {
                MaxRetryAttempts = options.MaxRetries,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = options.BaseDelay,
                MaxDelay = options.MaxDelay,
                // A call stopped by its own token (Stop, -TimeoutSec, shutdown) is never retried, whatever the
                // provider turned the cancellation into (a reset socket, say): its one try gets one row, from the caller.
                ShouldHandle = args => new ValueTask<bool>(args.Outcome.Exception is { } e
                    && !args.Context.Properties.GetValue(State, CallState.None).Token.IsCancellationRequested
                    && Classify(args.Context, e).Transient),
                // Polly's MaxDelay caps its own backoff only: a server's wait is capped here.
                DelayGenerator = args => new ValueTask<TimeSpan?>(args.Outcome.Exception is { } e && Classify(args.Context, e).RetryAfter is { } wait
                    ? (wait > options.MaxDelay ? options.MaxDelay : wait)
                    : null),
                OnRetry = args => args.Context.Properties.GetValue(State, CallState.None).OnRetry(
                    args.Outcome.Exception!, Classify(args.Context, args.Outcome.Exception!), args.RetryDelay),
            });
        }

        builder.AddTimeout(new TimeoutStrategyOptions { Timeout = options.AttemptTimeout });
        _pipeline = builder.Build();
    }

    /// <summary>The pipeline for these options, built on first use.</summary>
    public static RetryPipeline For(RetryOptions options) => Cache.GetValue(options, o => new RetryPipeline(o));

    /// <summary>
    /// Runs <paramref name="call"/>, retrying transient failures. <paramref name="onRetry"/> runs after
    /// each failed try that will be retried, with the classified failure and the wait before the next try.
    /// </summary>
    public async ValueTask<T> ExecuteAsync<T>(Func<CancellationToken, ValueTask<T>> call, CancellationToken token,
        Func<Exception, CallFailure, TimeSpan, ValueTask> onRetry)
    {
        var context = ResilienceContextPool.Shared.Get(token);
        context.Properties.Set(State, new CallState(token, onRetry));
        try
        {
            return await _pipeline.ExecuteAsync(static (ctx, run) => run(ctx.CancellationToken), context, call).ConfigureAwait(false);
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }

    private CallFailure Classify(ResilienceContext context, Exception e) =>
        CallErrors.Classify(e, _options.TimeProvider, context.Properties.GetValue(State, CallState.None).Token);

    private sealed record CallState(CancellationToken Token, Func<Exception, CallFailure, TimeSpan, ValueTask> OnRetry)
    {
        public static CallState None { get; } = new(CancellationToken.None, (_, _, _) => default);
    }
}

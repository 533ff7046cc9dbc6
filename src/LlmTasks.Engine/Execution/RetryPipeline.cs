using Polly;
using Polly.Retry;
using Polly.Timeout;

namespace LlmTasks.Execution;

/// <summary>Builds the Polly pipeline for one task's call: a retry around a per-try timeout.</summary>
internal static class RetryPipeline
{
    /// <summary>
    /// <paramref name="onRetry"/> runs after each failed try that will be retried, with the
    /// classified failure and the wait before the next try.
    /// </summary>
    public static ResiliencePipeline Build(RetryOptions options, CancellationToken token, Func<Exception, CallFailure, TimeSpan, ValueTask> onRetry)
    {
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
                ShouldHandle = args => new ValueTask<bool>(args.Outcome.Exception is { } e && Classify(e).Transient),
                // Polly's MaxDelay caps its own backoff only: a server's wait is capped here.
                DelayGenerator = args => new ValueTask<TimeSpan?>(args.Outcome.Exception is { } e && Classify(e).RetryAfter is { } wait
                    ? (wait > options.MaxDelay ? options.MaxDelay : wait)
                    : null),
                OnRetry = args => onRetry(args.Outcome.Exception!, Classify(args.Outcome.Exception!), args.RetryDelay),
            });
        }

        builder.AddTimeout(new TimeoutStrategyOptions { Timeout = options.AttemptTimeout });
        return builder.Build();

        CallFailure Classify(Exception e) => CallErrors.Classify(e, options.TimeProvider, token);
    }
}

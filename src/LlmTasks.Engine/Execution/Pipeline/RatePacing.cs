using LlmTasks.Diagnostics;
using LlmTasks.Execution.Limits;
using LlmTasks.Providers.Http;
using Microsoft.Extensions.AI;

namespace LlmTasks.Execution.Pipeline;

/// <summary>
/// Paces each try (it sits inside the retry, so a retry is paced too) to the rate limits of its model and provider
/// (<see cref="RateGovernor"/>): before the try it reserves a request and its estimated tokens (the prompt counted with
/// <see cref="TokenEstimate"/>, plus -MaxTokens or the answers' average size) and waits as long as the quota asks, on the
/// call's clock; after it, the estimate is corrected from the usage reported and what the provider's headers said is
/// learned (its limits, what is left, and after a 429 the pause that every call of the model then waits out). The first
/// call of a scope whose limit is not known yet goes alone, and the others wait for its response's headers.
/// </summary>
internal sealed class RatePacing(IChatClient inner, CallScope scope) : DelegatingChatClient(inner)
{
    /// <summary>The longest the other calls of a scope wait for the first one's answer (which may state the limit).</summary>
    public static readonly TimeSpan ProbeWait = TimeSpan.FromSeconds(5);

    /// <summary>A wait at least this long is narrated (-Verbose).</summary>
    public static readonly TimeSpan NarratedWait = TimeSpan.FromSeconds(1);

    public override async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        if (scope.Model is not { } model || scope.Request.MockResponse is not null || scope.Rates is not { } rates)
        {
            return await base.GetResponseAsync(messages, options, cancellationToken).ConfigureAwait(false);
        }

        var lanes = rates.LanesFor(model, scope.ReportsRateLimits);
        if (lanes.Count == 0)
        {
            return await base.GetResponseAsync(messages, options, cancellationToken).ConfigureAwait(false); // nothing known or knowable: as if unpaced
        }

        var probing = new List<RateLane>();
        foreach (var lane in lanes)
        {
            if (await lane.ProbeAsync(ProbeWait, cancellationToken).ConfigureAwait(false))
            {
                probing.Add(lane);
            }
        }

        var estimate = 0L;
        if (lanes.Any(l => l.CountsTokens))
        {
            var expected = scope.Request.MaxTokens ?? lanes.Max(l => l.ExpectedOutputTokens);
            estimate = TokenEstimate.Count(scope.Request.Messages) + expected;
        }

        var wait = TimeSpan.Zero;
        foreach (var lane in lanes)
        {
            var laneWait = lane.Reserve(estimate);
            wait = laneWait > wait ? laneWait : wait;
        }

        var previous = RateLimitHeaders.Current.Value;
        var box = new RateLimitHeaders.Box { Time = scope.Retry.TimeProvider };
        if (probing.Count > 0)
        {
            // The limit is in the first answer's headers, which come long before a long (streamed) answer's end: the calls
            // waiting for this probe go as soon as they are read, paced to what they said.
            box.HeadersArrived = report =>
            {
                foreach (var lane in probing)
                {
                    if (report is not null)
                    {
                        lane.Learn(report, scope.Retry.MaxDelay);
                    }

                    lane.Probed();
                }
            };
        }
        try
        {
            await WaitAsync(wait, lanes, cancellationToken).ConfigureAwait(false);
            RateLimitHeaders.Current.Value = box;
            var response = await base.GetResponseAsync(messages, options, cancellationToken).ConfigureAwait(false);
            foreach (var lane in lanes)
            {
                lane.Settle(estimate, response.Usage?.InputTokenCount, response.Usage?.OutputTokenCount);
                if (box.Report is { } report)
                {
                    lane.Learn(report, scope.Retry.MaxDelay);
                }
            }

            return response;
        }
        catch (ModelCallException e) when (e.Failure.Kind == "RateLimited")
        {
            foreach (var lane in lanes)
            {
                lane.Refund(estimate);
                lane.Learn(box.Report is { } report ? report with { Status = 429, RetryAfter = report.RetryAfter ?? e.Failure.RetryAfter }
                    : new RateLimitReport(429, null, null, null, null, null, null, e.Failure.RetryAfter), scope.Retry.MaxDelay);
            }

            throw;
        }
        catch
        {
            if (box.Report is { } report)
            {
                foreach (var lane in lanes)
                {
                    lane.Learn(report, scope.Retry.MaxDelay);
                }
            }

            throw;
        }
        finally
        {
            RateLimitHeaders.Current.Value = previous;
            foreach (var lane in lanes)
            {
                lane.Release();
            }

            foreach (var lane in probing)
            {
                lane.Probed();
            }
        }
    }

    /// <summary>Waits for the reservation, then for any pause a 429 started meanwhile.</summary>
    private async Task WaitAsync(TimeSpan wait, IReadOnlyList<RateLane> lanes, CancellationToken cancellationToken)
    {
        if (wait >= NarratedWait)
        {
            Narration.Pacing(scope, wait, lanes);
        }

        for (var round = 0; round < 100 && wait > TimeSpan.Zero; round++)
        {
            await Task.Delay(wait, scope.Time, cancellationToken).ConfigureAwait(false);
            scope.PacedFor += wait;
            wait = lanes.Max(l => l.PauseLeft());
        }

        // Reservations that came due together (the process stalled) go out no faster than a second of the rate per second.
        foreach (var lane in lanes)
        {
            for (var round = 0; round < 100 && lane.SendSlot() is var slot && slot > TimeSpan.Zero; round++)
            {
                await Task.Delay(slot, scope.Time, cancellationToken).ConfigureAwait(false);
                scope.PacedFor += slot;
            }
        }
    }
}

using LlmTasks.Configuration;
using LlmTasks.Execution;
using LlmTasks.Execution.Limits;
using LlmTasks.Providers.Http;
using LlmTasks.Tests.Doubles;
using LlmTasks.Tests.Http;
using Microsoft.Extensions.Time.Testing;

namespace LlmTasks.Tests.Execution;

/// <summary>Pacing to rate limits: the buckets and lanes on a fake clock, the headers read, and whole runs against a quota-enforcing loopback server.</summary>
public sealed class RateLimitTests
{
    [Fact]
    public void A_bucket_spaces_reservations_evenly_after_a_second_of_burst_and_takes_back_what_was_not_used()
    {
        var time = new FakeTimeProvider();
        var bucket = new TokenBucket(time, perMinute: 3000, startFull: true); // 50 a second, holding 50
        var waits = Enumerable.Range(0, 100).Select(_ => bucket.Reserve(1)).ToList();
        Assert.All(waits.Take(50), w => Assert.Equal(TimeSpan.Zero, w));
        Assert.Equal(TimeSpan.FromMilliseconds(20), waits[50]);
        Assert.Equal(TimeSpan.FromSeconds(1), waits[99]);
        Assert.True(waits.Skip(50).Zip(waits.Skip(51)).All(p => p.Second > p.First), "each later caller waits longer: they go out in order");

        time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(0, bucket.Level, 6);
        bucket.Credit(30);
        Assert.Equal(30, bucket.Level, 6);
        time.Advance(TimeSpan.FromMinutes(5));
        Assert.Equal(50, bucket.Level, 6); // never more than a second's worth

        bucket.SetRate(600); // resized while in use: 10 a second
        Assert.Equal(10, bucket.Level, 6);
        bucket.AtMost(2);
        Assert.Equal(2, bucket.Level, 6);
    }

    [Fact]
    public void A_lane_learns_the_limit_from_headers_paces_to_its_share_and_pauses_every_call_after_a_429()
    {
        var time = new FakeTimeProvider();
        var lane = new RateLane("openai/gpt-4o-mini", time);
        Assert.False(lane.Limited); // nothing known: not paced
        Assert.Equal(TimeSpan.Zero, lane.Reserve(100));

        lane.Learn(new RateLimitReport(200, 600, 599, TimeSpan.FromMilliseconds(100), 60_000, 59_000, null, null));
        Assert.True(lane.Limited);
        Assert.Equal((600.0, 60_000.0), lane.Pace());
        lane.Configure(null, sharedBy: 3);
        Assert.Equal((200.0, 20_000.0), lane.Pace()); // three processes on the store share it
        lane.Configure(new RateLimitSetting { Scope = "openai/gpt-4o-mini", RequestsPerMinute = 120, Source = "Session" }, sharedBy: 1);
        Assert.Equal((120.0, 60_000.0), lane.Pace()); // the lower of the configured and the learned limit

        lane.Learn(new RateLimitReport(429, null, 0, null, null, null, null, TimeSpan.FromSeconds(3)));
        Assert.Equal(TimeSpan.FromSeconds(3), lane.PauseLeft());
        Assert.True(lane.Reserve(0) >= TimeSpan.FromSeconds(3));
        time.Advance(TimeSpan.FromSeconds(3));
        Assert.Equal(TimeSpan.Zero, lane.PauseLeft());
    }

    [Fact]
    public void Reservations_that_came_due_together_after_a_stall_go_out_no_faster_than_a_second_of_the_rate_per_second()
    {
        var time = new FakeTimeProvider();
        var lane = new RateLane("openai/gpt-4o-mini", time);
        lane.Configure(new RateLimitSetting { Scope = "openai/gpt-4o-mini", RequestsPerMinute = 600, Source = "Session" }, sharedBy: 1); // 10 a second
        var waits = Enumerable.Range(0, 30).Select(_ => lane.Reserve(0)).ToList();
        Assert.Equal(TimeSpan.FromSeconds(3), waits[^1]); // evenly spaced: the last one 3 s from now

        time.Advance(TimeSpan.FromSeconds(5)); // the process stalled: every reservation is due at once
        var now = Enumerable.Range(0, 30).Select(_ => lane.SendSlot()).ToList();
        Assert.Equal(10, now.Count(w => w == TimeSpan.Zero)); // a second's worth goes; the server's bucket holds as much
        Assert.All(now.Skip(10), w => Assert.Equal(TimeSpan.FromSeconds(1), w));

        time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(10, Enumerable.Range(0, 20).Count(_ => lane.SendSlot() == TimeSpan.Zero));

        var unlimited = new RateLane("mock/echo", time);
        Assert.All(Enumerable.Range(0, 100), _ => Assert.Equal(TimeSpan.Zero, unlimited.SendSlot())); // no limit: nothing held
    }

    [Fact]
    public void A_lane_corrects_token_estimates_from_the_usage_and_learns_the_answers_size()
    {
        var time = new FakeTimeProvider();
        var lane = new RateLane("openai", time);
        lane.Configure(new RateLimitSetting { Scope = "openai", TokensPerMinute = 60_000, Source = "Environment" }, 1); // 1,000 a second
        time.Advance(TimeSpan.FromSeconds(1)); // a new lane starts empty: it ramps in at its rate
        Assert.Equal(TimeSpan.Zero, lane.Reserve(1000));
        Assert.Equal(TimeSpan.FromSeconds(0.5), lane.Reserve(500));
        lane.Settle(estimatedTokens: 500, inputTokens: 40, outputTokens: 10); // 450 back
        Assert.Equal(TimeSpan.FromSeconds(0.2), lane.Reserve(150)); // -500 + 450 - 150: 200 tokens short at 1,000 a second
        Assert.Equal(10, lane.ExpectedOutputTokens);
        lane.Settle(0, 0, 30);
        Assert.Equal(12, lane.ExpectedOutputTokens); // a moving average
    }

    [Theory]
    [InlineData("20ms", 20)]
    [InlineData("1s", 1000)]
    [InlineData("6m0s", 360_000)]
    [InlineData("1h2m3.5s", 3_723_500)]
    [InlineData("0.5s", 500)]
    public void OpenAI_reset_durations_are_read(string text, double ms) =>
        Assert.Equal(TimeSpan.FromMilliseconds(ms), RateLimitHeaders.Duration(text));

    [Fact]
    public void Anthropic_headers_are_read_as_OpenAI_ones_are()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 12, 0, 0, TimeSpan.Zero));
        using var response = new HttpResponseMessage(System.Net.HttpStatusCode.TooManyRequests);
        response.Headers.TryAddWithoutValidation("anthropic-ratelimit-requests-limit", "50");
        response.Headers.TryAddWithoutValidation("anthropic-ratelimit-requests-remaining", "0");
        response.Headers.TryAddWithoutValidation("anthropic-ratelimit-requests-reset", "2026-01-01T12:00:07Z");
        response.Headers.TryAddWithoutValidation("anthropic-ratelimit-input-tokens-limit", "40000");
        response.Headers.TryAddWithoutValidation("anthropic-ratelimit-input-tokens-remaining", "39000");
        response.Headers.TryAddWithoutValidation("retry-after", "7");
        var report = RateLimitHeaders.Read(429, response.Headers, time);
        Assert.Equal(new RateLimitReport(429, 50, 0, TimeSpan.FromSeconds(7), 40_000, 39_000, null, TimeSpan.FromSeconds(7)), report);
    }

    [Fact]
    public async Task A_response_seen_under_the_provider_handler_is_read_on_the_calls_clock_not_the_machines()
    {
        // The HTTP handler is shared by every client of the process; the clock comes with the call's box (the pipeline's TimeProvider).
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 12, 0, 0, TimeSpan.Zero));
        var box = new RateLimitHeaders.Box { Time = time };
        RateLimitHeaders.Current.Value = box;
        try
        {
            using var response = new HttpResponseMessage(System.Net.HttpStatusCode.OK);
            response.Headers.TryAddWithoutValidation("anthropic-ratelimit-requests-limit", "50");
            response.Headers.TryAddWithoutValidation("anthropic-ratelimit-requests-reset", "2026-01-01T12:00:07Z");
            using var handler = new LlmTasks.Providers.Http.AnswerLimit(1 << 20) { InnerHandler = new Answering(response) };
            using var client = new HttpClient(handler);
            using var _ = await client.GetAsync("http://127.0.0.1/never-sent");
            Assert.Equal(TimeSpan.FromSeconds(7), box.Report?.RequestsReset);
        }
        finally
        {
            RateLimitHeaders.Current.Value = null;
        }
    }

    /// <summary>An inner handler that answers every request with one response, without a socket.</summary>
    private sealed class Answering(HttpResponseMessage response) : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) => Task.FromResult(response);
    }

    [Fact]
    public void The_environment_variable_takes_scopes_with_their_limits_and_a_bad_value_names_it()
    {
        var options = new RateLimitOptions(new EngineEnvironment(n => n == RateLimitOptions.LimitsVariable ? "OpenAI=3000rpm,1_000_000tpm; anthropic/claude-haiku-4-5=50rpm" : null));
        options.Validate();
        Assert.Equal(["anthropic/claude-haiku-4-5", "openai"], options.All().Select(s => s.Scope));
        Assert.Equal(3000, options.For("openai")!.RequestsPerMinute);
        Assert.Equal(1_000_000, options.For("openai")!.TokensPerMinute);
        Assert.Equal("Environment", options.For("openai")!.Source);

        options.Set("openai", 100, null); // the session's wins over the variable's
        Assert.Equal(("Session", 100, (long?)null), (options.For("openai")!.Source, options.For("openai")!.RequestsPerMinute, options.For("openai")!.TokensPerMinute));
        Assert.True(options.Remove("openai"));
        Assert.Equal("Environment", options.For("openai")!.Source);
        Assert.Equal(ErrorIds.InvalidRateLimit, Assert.Throws<LlmTasksException>(() => options.Set("openai/", 10, null)).ErrorId);
        Assert.Equal(ErrorIds.InvalidRateLimit, Assert.Throws<LlmTasksException>(() => options.Set("openai", 0, null)).ErrorId);

        foreach (var bad in new[] { "openai=lots", "openai=3000", "=3000rpm", "openai=3000rpm,4000rpm" })
        {
            var e = Assert.Throws<LlmTasksException>(() => new RateLimitOptions(new EngineEnvironment(n => n == RateLimitOptions.LimitsVariable ? bad : null)).Validate());
            Assert.Equal(ErrorIds.InvalidEnvironment, e.ErrorId);
            Assert.Contains("$env:LLMTASKS_RATE_LIMITS", e.Message);
        }
    }

    private static LlmTaskRequest Call(int i) => new()
    {
        Model = "openai/gpt-4o-mini",
        Messages = [new LlmMessage(LlmRole.User, $"question {i}")],
    };

    private static RetryOptions Retries => new() { MaxRetries = 10, BaseDelay = TimeSpan.FromMilliseconds(50), MaxDelay = TimeSpan.FromSeconds(5), AttemptTimeout = TimeSpan.FromSeconds(30) };

    [Fact]
    public void A_configured_limit_keeps_a_burst_of_tasks_under_the_servers_quota()
    {
        using var quota = new QuotaServer(requestsPerMinute: 1200); // 20 a second, holding 20
        var limits = new RateLimitOptions(new EngineEnvironment(_ => null));
        limits.Set("openai/gpt-4o-mini", 1200, null);
        using var h = new HttpHarness(Retries, options: o => o with { Concurrency = 16, RateLimits = limits });
        var ids = Enumerable.Range(0, 60).Select(i => h.Manager.Start(Call(i) with { ApiBase = quota.BaseUrl }, new TaskSecrets(HttpHarness.Key)).Id).ToList();
        var done = Managers.WaitAll(h.Manager, ids, 120);
        Assert.All(done, t => Assert.Equal(LlmTaskState.Completed, t.State));
        Assert.Equal(60, quota.Answered);
        Assert.InRange(quota.RateLimited, 0, 1); // unpaced, 16 calls at once against 20 a second: dozens of 429s (see below)
    }

    [Fact]
    public void Without_pacing_the_same_burst_is_answered_429_again_and_again()
    {
        using var quota = new QuotaServer(requestsPerMinute: 1200);
        var off = new RateLimitOptions(new EngineEnvironment(n => n == RateLimitOptions.PacingVariable ? "0" : null));
        using var h = new HttpHarness(Retries, options: o => o with { Concurrency = 16, RateLimits = off });
        var ids = Enumerable.Range(0, 60).Select(i => h.Manager.Start(Call(i) with { ApiBase = quota.BaseUrl }, new TaskSecrets(HttpHarness.Key)).Id).ToList();
        Managers.WaitAll(h.Manager, ids, 120);
        Assert.True(quota.RateLimited > 5, $"{quota.RateLimited} 429s"); // what the paced runs are measured against
    }

    [Fact]
    public void A_model_whose_provider_cannot_state_limits_is_not_paced_when_nothing_is_configured_its_calls_all_go_at_once()
    {
        // The clock never moves: a call held back by the pacing (the probe for an unknown limit waits up to 5 s on it)
        // would still be held when the manager shuts down, and shut down before its call it leaves no attempt row.
        using var temp = new TempStore();
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var limits = new RateLimitOptions(new EngineEnvironment(_ => null));
        var manager = Managers.Open(temp.Path, new TaskManagerOptions { Concurrency = 4, RateLimits = limits, Time = time });
        var ids = Enumerable.Range(0, 6).Select(i => manager.Start(Managers.Request($"t{i}", "mock/delay:60000")).Id).ToList();
        Assert.True(SpinWait.SpinUntil(() => ids.Count(id => manager.Store.Get(id)?.State == LlmTaskState.Running) == 4, TimeSpan.FromSeconds(60)), "four calls should run");
        Thread.Sleep(1000); // a settle, not a measure: the four dispatched calls reach the model (or are held back by the pacing)
        var lanes = manager.Rates.Lanes;
        manager.Dispose();

        using var reopened = Managers.Open(temp.Path);
        var attempts = ids.SelectMany(id => reopened.Store.GetAttempts(id)).ToList();
        Assert.Equal(4, attempts.Count(a => a.Outcome == LlmAttemptOutcome.Interrupted));
        Assert.Equal(4, attempts.Count);
        Assert.All(ids, id => Assert.Equal(LlmTaskState.Pending, reopened.Store.Get(id)!.State));
        Assert.Empty(lanes); // no lane, no store read for a share, no probe
    }

    [Fact]
    public void A_limit_set_for_a_mock_model_still_paces_it()
    {
        var limits = new RateLimitOptions(new EngineEnvironment(_ => null));
        limits.Set("mock/echo", 6000, null);
        using var temp = new TempStore();
        using var manager = Managers.Open(temp.Path, new TaskManagerOptions { RateLimits = limits });
        var ids = Enumerable.Range(0, 3).Select(i => manager.Start(Managers.Request($"e{i}")).Id).ToList();
        Assert.All(Managers.WaitAll(manager, ids), t => Assert.Equal(LlmTaskState.Completed, t.State));
        var lane = Assert.Single(manager.Rates.Lanes);
        Assert.Equal("mock/echo", lane.Scope);
        Assert.Equal(6000, lane.Pace().Requests);
    }

    [Fact]
    public void With_no_configuration_the_limit_is_learned_from_the_headers_and_kept()
    {
        using var quota = new QuotaServer(requestsPerMinute: 600); // 10 a second, holding 10
        var limits = new RateLimitOptions(new EngineEnvironment(_ => null));
        using var h = new HttpHarness(Retries, options: o => o with { Concurrency = 4, RateLimits = limits });
        var ids = Enumerable.Range(0, 40).Select(i => h.Manager.Start(Call(i) with { ApiBase = quota.BaseUrl }, new TaskSecrets(HttpHarness.Key)).Id).ToList();
        var done = Managers.WaitAll(h.Manager, ids, 120);
        Assert.All(done, t => Assert.Equal(LlmTaskState.Completed, t.State));
        Assert.InRange(quota.RateLimited, 0, 1);
        var lane = Assert.Single(h.Manager.Rates.Lanes);
        Assert.Equal("openai/gpt-4o-mini", lane.Scope);
        Assert.Equal(600, lane.LearnedRequestsPerMinute);
    }

    [Fact]
    public void The_calls_waiting_for_the_first_ones_headers_go_when_they_arrive_not_when_its_long_answer_ends()
    {
        // The limit is unknown, so the first call goes alone. Its headers come at once and state the limit; its answer then
        // streams for about three seconds (less than the five the others would wait for it at most). The other calls go as
        // soon as those headers are read, paced to what they say, and end before it.
        using var server = new LoopbackServer();
        (string, string)[] headers = [("x-ratelimit-limit-requests", "6000"), ("x-ratelimit-remaining-requests", "99")];
        var seen = 0;
        server.Script(Reply.From(_ => Interlocked.Increment(ref seen) == 1
            ? (StreamReply)Reply.Stream(RecordedResponses.OpenAIStream(["slow ", "answer ", "in ", "pieces"]), TimeSpan.FromMilliseconds(500)) with { Headers = headers }
            : Reply.Json(200, RecordedResponses.OpenAIChat("quick"), headers)));
        var limits = new RateLimitOptions(new EngineEnvironment(_ => null));
        using var h = new HttpHarness(Retries, options: o => o with { Concurrency = 4, RateLimits = limits, Streaming = true });
        var ids = Enumerable.Range(0, 4).Select(i => h.Manager.Start(Call(i) with { ApiBase = server.Url + "/v1" }, new TaskSecrets(HttpHarness.Key)).Id).ToList();
        var done = Managers.WaitAll(h.Manager, ids, 120);
        Assert.All(done, t => Assert.Equal(LlmTaskState.Completed, t.State));
        var slow = Assert.Single(done, t => t.Output == "slow answer in pieces");
        Assert.All(done.Where(t => t.Id != slow.Id), t =>
            Assert.True(t.CompletedAt < slow.CompletedAt, $"task {t.Id} ended at {t.CompletedAt:HH:mm:ss.fff}, after the first call's answer ({slow.CompletedAt:HH:mm:ss.fff})"));
        Assert.Equal(6000, Assert.Single(h.Manager.Rates.Lanes).LearnedRequestsPerMinute);
    }

    [Fact]
    public void A_429_pauses_the_model_and_the_retries_are_paced_rather_than_draining_the_quota_again()
    {
        // Another client has just spent the quota: the first call (which goes alone, the limit being unknown) gets a 429
        // with the headers; every call then waits the pause out and goes at the learned pace.
        using var quota = new QuotaServer(requestsPerMinute: 600) { RefuseFirst = 1 };
        var spent = 0;
        var limits = new RateLimitOptions(new EngineEnvironment(_ => null));
        using var h = new HttpHarness(Retries, options: o => o with { Concurrency = 24, RateLimits = limits });
        var ids = Enumerable.Range(0, 40).Select(i => h.Manager.Start(Call(i) with { ApiBase = quota.BaseUrl }, new TaskSecrets(HttpHarness.Key)).Id).ToList();
        var done = Managers.WaitAll(h.Manager, ids, 120);
        Assert.All(done, t => Assert.Equal(LlmTaskState.Completed, t.State));
        Assert.Equal(40, quota.Answered - spent);
        Assert.Equal(1, quota.RateLimited); // only the first: unpaced, 24 calls at once against a bucket of 10 a second are refused again and again
        var refused = done.SelectMany(h.Attempts).Where(a => a.ErrorKind == "RateLimited").ToList();
        Assert.Equal(quota.RateLimited, refused.Count);
    }

    [Theory]
    [InlineData(StoreKind.Sqlite)]
    [InlineData(StoreKind.Postgres)]
    public void Active_holders_are_the_processes_with_unfinished_leased_tasks_of_a_model_or_provider(StoreKind kind)
    {
        using var temp = new TempStore(kind);
        var options = new TaskManagerOptions { ClaimStoreWork = false };
        using var a = Managers.Open(temp.Path, options);
        using var b = Managers.Open(temp.Path, options);
        Assert.Equal(0, a.Store.ActiveHolders("mock/delay:30000"));
        a.Start(Managers.Request("x", "mock/delay:30000"));
        b.Start(Managers.Request("y", "mock/delay:30000"));
        b.Start(Managers.Request("z", "mock/delay:30000"));
        a.Start(Managers.Request("w", "mock/echo"));
        Assert.Equal(2, a.Store.ActiveHolders("mock/delay:30000"));
        Assert.Equal(2, b.Store.ActiveHolders("mock"));
        Assert.Equal(0, a.Store.ActiveHolders("openai"));
    }

    [Fact]
    public async Task Two_processes_on_one_store_share_the_limit_rather_than_each_taking_it_whole()
    {
        using var quota = new QuotaServer(requestsPerMinute: 1200);
        using var temp = new TempStore();
        var limits = new RateLimitOptions(new EngineEnvironment(_ => null)) { ShareRefresh = TimeSpan.FromMilliseconds(100) };
        limits.Set("openai/gpt-4o-mini", 1200, null);
        var lookup = new ProviderEnvironment(_ => null);
        TaskManager Open() => LlmTasks.Execution.TaskManager.Open(temp.Path, new TaskManagerOptions { Retry = Retries, Concurrency = 16, RateLimits = limits, PollInterval = TimeSpan.FromMilliseconds(50) },
            new LlmTasks.Providers.ProviderRegistry([.. LlmTasks.Providers.OpenAICompatible.OpenAICompatibleEndpoint.All.Select(e => new LlmTasks.Providers.OpenAICompatible.OpenAICompatibleProvider(e, lookup))]));
        using var a = Open();
        using var b = Open();
        var secrets = new TaskSecrets(HttpHarness.Key);
        var first = Enumerable.Range(0, 40).Select(i => a.Start(Call(i) with { ApiBase = quota.BaseUrl }, secrets).Id).ToList();
        var second = Enumerable.Range(0, 40).Select(i => b.Start(Call(i) with { ApiBase = quota.BaseUrl }, secrets).Id).ToList();
        var sharedSeen = 0;
        var watch = Task.Run(async () =>
        {
            while (a.Store.ActiveHolders("openai/gpt-4o-mini") > 0)
            {
                sharedSeen = Math.Max(sharedSeen, a.Rates.Lanes.Concat(b.Rates.Lanes).Max(l => l.SharedBy));
                await Task.Delay(20);
            }
        });
        Assert.All(Managers.WaitAll(a, first, 120).Concat(Managers.WaitAll(b, second, 120)), t => Assert.Equal(LlmTaskState.Completed, t.State));
        await watch;
        Assert.Equal(2, sharedSeen);
        Assert.Equal(80, quota.Answered);
        Assert.InRange(quota.RateLimited, 0, 4); // each taking the whole 20 a second would be refused about half the time
    }
}

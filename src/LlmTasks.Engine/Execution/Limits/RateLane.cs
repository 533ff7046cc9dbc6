using LlmTasks.Providers.Http;

namespace LlmTasks.Execution.Limits;

/// <summary>
/// The pacing of one scope (a provider, or a whole model) in this process: a bucket of requests and one of tokens at this
/// process's share of the limit in force (the lower of the configured one and what the provider's headers say), a pause
/// after a 429 that every call of the scope waits out, and the tokens an answer is expected to have. Thread-safe.
/// </summary>
internal sealed class RateLane(string scope, TimeProvider time)
{
    private readonly object _gate = new();
    private TokenBucket? _requests;
    private TokenBucket? _tokens;
    private long? _learnedRequests;
    private long? _learnedTokens;
    private int? _configuredRequests;
    private long? _configuredTokens;
    private int _sharedBy = 1;
    private long _pausedUntil; // TimeProvider timestamp; 0: not paused
    private double _outputAverage = -1;
    private int _inFlight;
    private TaskCompletionSource? _probe; // the first call of a scope with no known limit: the others wait for its answer
    private bool _probed;
    private readonly Queue<long> _sent = new(); // when the last calls went out (TimeProvider timestamps), at most a second's worth

    public string Scope { get; } = scope;

    /// <summary>When the share was last read from the store (TimeProvider timestamp; 0: never).</summary>
    public long SharesReadAt;

    /// <summary>1 while a share read is in flight.</summary>
    public int SharesReading;

    public int SharedBy
    {
        get
        {
            lock (_gate)
            {
                return _sharedBy;
            }
        }
    }

    public long? LearnedRequestsPerMinute => _learnedRequests;

    public long? LearnedTokensPerMinute => _learnedTokens;

    /// <summary>True when some limit applies (configured or learned): only then are calls paced and tokens counted.</summary>
    public bool Limited
    {
        get
        {
            lock (_gate)
            {
                return _requests is not null || _tokens is not null;
            }
        }
    }

    public bool CountsTokens
    {
        get
        {
            lock (_gate)
            {
                return _tokens is not null;
            }
        }
    }

    /// <summary>The tokens an answer of this scope is expected to have when the request sets no -MaxTokens (the average so far).</summary>
    public long ExpectedOutputTokens
    {
        get
        {
            lock (_gate)
            {
                return _outputAverage < 0 ? 0 : (long)Math.Ceiling(_outputAverage);
            }
        }
    }

    /// <summary>Applies the configured limit and the share (how many processes on the store use the scope now).</summary>
    public void Configure(RateLimitSetting? configured, int sharedBy)
    {
        lock (_gate)
        {
            _configuredRequests = configured?.RequestsPerMinute;
            _configuredTokens = configured?.TokensPerMinute;
            _sharedBy = Math.Max(1, sharedBy);
            Resize();
        }
    }

    /// <summary>Takes a request and its estimated tokens; returns how long to wait before sending it.</summary>
    public TimeSpan Reserve(long tokens)
    {
        lock (_gate)
        {
            _inFlight++;
            var wait = PauseLeft();
            if (_requests is { } requests)
            {
                wait = Max(wait, requests.Reserve(1));
            }

            if (_tokens is { } bucket && tokens > 0)
            {
                wait = Max(wait, bucket.Reserve(tokens));
            }

            return wait;
        }
    }

    /// <summary>
    /// Before a limit is known (nothing configured, no answer read yet) the first call goes alone and the others wait for
    /// its answer, whose headers may state the limit: a burst of tasks does not find the quota by spending it. Returns
    /// true for the call that probes (it calls <see cref="Probed"/> when its answer is in).
    /// </summary>
    public async ValueTask<bool> ProbeAsync(TimeSpan longest, CancellationToken cancellationToken)
    {
        Task waitFor;
        lock (_gate)
        {
            if (_probed || _requests is not null || _tokens is not null)
            {
                return false;
            }

            if (_probe is null)
            {
                _probe = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                return true;
            }

            waitFor = _probe.Task;
        }

        try
        {
            await waitFor.WaitAsync(longest, time, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            Probed(); // a slow first answer: stop holding the others
        }

        return false;
    }

    /// <summary>The probing call's answer is in (or it failed): the others go, paced to whatever was learned.</summary>
    public void Probed()
    {
        TaskCompletionSource? probe;
        lock (_gate)
        {
            _probed = true;
            probe = _probe;
        }

        probe?.TrySetResult();
    }

    /// <summary>
    /// Just before a call goes out, after its reservation's wait: zero when it may go now (it is then counted as sent), else
    /// how long until it may. At most a second of the requests rate goes out in any second, whatever the reservations say:
    /// a process that stalled (a loaded machine, a long GC) wakes with many reservations due at once, and sending them
    /// together would spend more than the server's bucket holds (it holds a second of the rate, as this one does).
    /// </summary>
    public TimeSpan SendSlot()
    {
        lock (_gate)
        {
            if (_requests is not { } requests)
            {
                return TimeSpan.Zero;
            }

            var now = time.GetTimestamp();
            var window = time.TimestampFrequency; // a second
            while (_sent.Count > 0 && now - _sent.Peek() >= window)
            {
                _sent.Dequeue();
            }

            var most = Math.Max(1, (int)Math.Floor(requests.PerMinute / 60 * TokenBucket.BurstSeconds));
            while (_sent.Count > most)
            {
                _sent.Dequeue(); // the rate was lowered: keep the newest
            }

            if (_sent.Count < most)
            {
                _sent.Enqueue(now);
                return TimeSpan.Zero;
            }

            return time.GetElapsedTime(now, _sent.Peek() + window);
        }
    }

    /// <summary>A reserved call ended (answered, refused or stopped).</summary>
    public void Release()
    {
        lock (_gate)
        {
            _inFlight = Math.Max(0, _inFlight - 1);
        }
    }

    /// <summary>What is left of a pause after a 429 (zero when none).</summary>
    public TimeSpan PauseLeft()
    {
        var until = Interlocked.Read(ref _pausedUntil);
        if (until == 0)
        {
            return TimeSpan.Zero;
        }

        var now = time.GetTimestamp();
        return now >= until ? TimeSpan.Zero : time.GetElapsedTime(now, until);
    }

    /// <summary>The call is over: the tokens it was counted for are corrected to those it used, and the answer's size is learned.</summary>
    public void Settle(long estimatedTokens, long? inputTokens, long? outputTokens)
    {
        lock (_gate)
        {
            if (outputTokens is { } output)
            {
                _outputAverage = _outputAverage < 0 ? output : _outputAverage * 0.9 + output * 0.1;
            }

            if (_tokens is { } bucket && (inputTokens is not null || outputTokens is not null))
            {
                var used = (inputTokens ?? 0) + (outputTokens ?? 0);
                if (used > estimatedTokens)
                {
                    bucket.Reserve(used - estimatedTokens); // taken now: later calls wait for it
                }
                else
                {
                    bucket.Credit(estimatedTokens - used);
                }
            }
        }
    }

    /// <summary>A call that the server refused gives its tokens back (a 429 is not counted against the quota).</summary>
    public void Refund(long estimatedTokens)
    {
        lock (_gate)
        {
            _tokens?.Credit(estimatedTokens);
        }
    }

    /// <summary>
    /// What the provider's headers said: its limits (this process paces to its share of them), what is left (the buckets hold
    /// at most this process's share of it, less the other calls this process has sent or reserved since, which the server
    /// had not counted yet), and after a 429 how long to wait (at most <paramref name="longestPause"/>, the retry's own cap):
    /// every call of the scope waits that out.
    /// </summary>
    public void Learn(RateLimitReport report, TimeSpan? longestPause = null)
    {
        lock (_gate)
        {
            var hadRequests = _requests is not null;
            var hadTokens = _tokens is not null;
            _learnedRequests = report.RequestLimit ?? _learnedRequests;
            _learnedTokens = report.TokenLimit ?? _learnedTokens;
            Resize();
            if (report.RequestsRemaining is { } requestsLeft && _requests is { } requests)
            {
                // A bucket the headers just made starts with this process's share of what the server says is left.
                var share = (double)requestsLeft / _sharedBy - Math.Max(0, _inFlight - 1);
                if (hadRequests)
                {
                    requests.AtMost(share);
                }
                else
                {
                    requests.Fill(share);
                }
            }

            if (report.TokensRemaining is { } tokensLeft && _tokens is { } tokens)
            {
                if (hadTokens)
                {
                    tokens.AtMost((double)tokensLeft / _sharedBy);
                }
                else
                {
                    tokens.Fill((double)tokensLeft / _sharedBy);
                }
            }

            if (report.Status == 429)
            {
                var wait = report.RetryAfter ?? Max(report.RequestsRemaining == 0 ? report.RequestsReset ?? TimeSpan.Zero : TimeSpan.Zero,
                    report.TokensRemaining == 0 ? report.TokensReset ?? TimeSpan.Zero : TimeSpan.Zero);
                wait = wait > TimeSpan.Zero ? wait : TimeSpan.FromSeconds(1);
                Pause(longestPause is { } cap && cap < wait ? cap : wait);
            }
        }
    }

    /// <summary>Holds every call of the scope for <paramref name="wait"/> (a 429 with no headers to read).</summary>
    public void Pause(TimeSpan wait)
    {
        var until = time.GetTimestamp() + (long)(Math.Min(wait.TotalSeconds, 300) * time.TimestampFrequency);
        long seen;
        do
        {
            seen = Interlocked.Read(ref _pausedUntil);
            if (seen >= until)
            {
                return;
            }
        }
        while (Interlocked.CompareExchange(ref _pausedUntil, until, seen) != seen);

        lock (_gate)
        {
            _requests?.AtMost(0); // calls already reserved ahead keep their order after the pause
        }
    }

    /// <summary>The limits this process paces to now (its share), per minute.</summary>
    public (double? Requests, double? Tokens) Pace()
    {
        lock (_gate)
        {
            return (_requests?.PerMinute, _tokens?.PerMinute);
        }
    }

    private void Resize()
    {
        var requests = Lower(_configuredRequests, _learnedRequests);
        var tokens = Lower(_configuredTokens, _learnedTokens);
        _requests = Bucket(_requests, requests);
        _tokens = Bucket(_tokens, tokens);
    }

    private TokenBucket? Bucket(TokenBucket? bucket, long? perMinute)
    {
        if (perMinute is not { } limit)
        {
            return null;
        }

        var share = (double)limit / _sharedBy;
        if (bucket is null)
        {
            return new TokenBucket(time, share);
        }

        bucket.SetRate(share);
        return bucket;
    }

    private static long? Lower(long? a, long? b) => a is null ? b : b is null ? a : Math.Min(a.Value, b.Value);

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;
}

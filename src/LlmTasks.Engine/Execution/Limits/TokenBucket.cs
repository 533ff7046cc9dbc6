namespace LlmTasks.Execution.Limits;

/// <summary>
/// A token bucket on a <see cref="TimeProvider"/> that hands out reservations: a caller takes what it needs at once (the
/// level may go below zero) and is told how long to wait before it may use it, so callers go out in the order they came,
/// evenly spaced at the rate, with no herd when the bucket refills. It holds at most <see cref="BurstSeconds"/> of its
/// rate, so a quota is spread over the minute rather than spent at its start (providers enforce per-minute limits over
/// shorter periods), and a new bucket starts empty unless told otherwise: processes that start together ramp in at their
/// rate instead of each spending a burst at once. Unlike System.Threading.RateLimiting's buckets it can be resized while in use (a quota learned from
/// headers, a share that changes), credited back (an estimate that was too high) and driven by a fake clock in tests.
/// </summary>
internal sealed class TokenBucket
{
    /// <summary>How much of its rate the bucket holds: a second's worth.</summary>
    public const double BurstSeconds = 1.0;

    private readonly TimeProvider _time;
    private readonly object _gate = new();
    private double _perSecond;
    private double _capacity;
    private double _level;
    private long _stamp;

    public TokenBucket(TimeProvider time, double perMinute, bool startFull = false)
    {
        _time = time;
        _stamp = time.GetTimestamp();
        SetRate(perMinute);
        _level = startFull ? _capacity : 0;
    }

    /// <summary>The rate it refills at, per minute.</summary>
    public double PerMinute
    {
        get
        {
            lock (_gate)
            {
                return _perSecond * 60;
            }
        }
    }

    /// <summary>What it holds now (below zero: reserved ahead).</summary>
    public double Level
    {
        get
        {
            lock (_gate)
            {
                Refill();
                return _level;
            }
        }
    }

    /// <summary>Changes the rate; what it holds is kept, up to the new capacity.</summary>
    public void SetRate(double perMinute)
    {
        lock (_gate)
        {
            Refill();
            _perSecond = Math.Max(perMinute, 1e-6) / 60;
            _capacity = Math.Max(1, _perSecond * BurstSeconds);
            _level = Math.Min(_level, _capacity);
        }
    }

    /// <summary>Takes <paramref name="amount"/> now; returns how long to wait before using it (zero: at once).</summary>
    public TimeSpan Reserve(double amount)
    {
        lock (_gate)
        {
            Refill();
            _level -= amount;
            return _level >= 0 ? TimeSpan.Zero : TimeSpan.FromSeconds(-_level / _perSecond);
        }
    }

    /// <summary>Gives back what was taken but not used (an estimate higher than the usage).</summary>
    public void Credit(double amount)
    {
        lock (_gate)
        {
            Refill();
            _level = Math.Min(_capacity, _level + amount);
        }
    }

    /// <summary>Holds <paramref name="level"/> (at most its capacity): a new bucket told by the server how much is left.</summary>
    public void Fill(double level)
    {
        lock (_gate)
        {
            Refill();
            _level = Math.Clamp(level, Math.Min(_level, 0), _capacity);
        }
    }

    /// <summary>Holds at most <paramref name="level"/> (the server said that much is left): never raises it.</summary>
    public void AtMost(double level)
    {
        lock (_gate)
        {
            Refill();
            _level = Math.Min(_level, level);
        }
    }

    private void Refill()
    {
        var now = _time.GetTimestamp();
        var seconds = _time.GetElapsedTime(_stamp, now).TotalSeconds;
        _stamp = now;
        if (seconds > 0)
        {
            _level = Math.Min(_capacity, _level + seconds * _perSecond);
        }
    }
}

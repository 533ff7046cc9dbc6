using System.Collections.Concurrent;
using System.Globalization;
using LlmTasks.Configuration;

namespace LlmTasks.Execution.Limits;

/// <summary>
/// The configured rate limits of this process: <c>$env:LLMTASKS_RATE_LIMITS</c> (read once, checked when read: a bad value
/// names the variable) and what Set-LlmRateLimit sets for the session, which wins over the variable for the same scope.
/// Pacing from the providers' headers needs no configuration ($env:LLMTASKS_RATE_PACING = 0 turns all pacing off).
/// </summary>
public sealed class RateLimitOptions
{
    public const string LimitsVariable = "LLMTASKS_RATE_LIMITS";
    public const string PacingVariable = "LLMTASKS_RATE_PACING";

    /// <summary>The most a limit may say per minute (a billion).</summary>
    public const long MaxPerMinute = 1_000_000_000;

    private readonly ConcurrentDictionary<string, RateLimitSetting> _session = new(StringComparer.OrdinalIgnoreCase);
    private readonly Lazy<IReadOnlyDictionary<string, RateLimitSetting>> _environment;
    private readonly Lazy<bool> _pacing;

    public RateLimitOptions(EngineEnvironment? environment = null)
    {
        var env = environment ?? EngineEnvironment.Process;
        _environment = new(() => env.Text(LimitsVariable) is { } text ? Parse(text, LimitsVariable) : new Dictionary<string, RateLimitSetting>());
        _pacing = new(() => env.Flag(PacingVariable, "1") ?? true);
    }

    /// <summary>How often a limit's share (the processes on the store that use it) is read again; checked by <see cref="Validate"/>.</summary>
    public TimeSpan ShareRefresh { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Throws an <see cref="ErrorIds.InvalidOption"/> error for a value out of range (as Polly checks its options when a pipeline is built).</summary>
    public void Validate()
    {
        if (ShareRefresh <= TimeSpan.Zero || ShareRefresh > TimeSpan.FromMinutes(10))
        {
            throw new LlmTasksException(ErrorIds.InvalidOption, LlmErrorCategory.InvalidArgument,
                $"Invalid rate limit options: ShareRefresh must be over 0 and at most 10 minutes; got {ShareRefresh}.") { Target = this };
        }

        _ = _environment.Value; // a bad $env:LLMTASKS_RATE_LIMITS is reported when the store is opened, not at the first call
        _ = _pacing.Value;
    }

    /// <summary>The process's limits.</summary>
    public static RateLimitOptions Process { get; } = new();

    /// <summary>False when $env:LLMTASKS_RATE_PACING is 0: calls go out as soon as a slot is free, as before pacing.</summary>
    public bool Pacing => _pacing.Value;

    /// <summary>Every configured limit: the session's, then the environment's for scopes the session does not set.</summary>
    public IReadOnlyList<RateLimitSetting> All() =>
    [
        .. _session.Values.Concat(_environment.Value.Values.Where(e => !_session.ContainsKey(e.Scope)))
            .OrderBy(s => s.Scope, StringComparer.OrdinalIgnoreCase),
    ];

    /// <summary>The configured limit of a scope (a provider or a whole model), or null.</summary>
    public RateLimitSetting? For(string scope) =>
        _session.TryGetValue(scope, out var set) ? set : _environment.Value.TryGetValue(scope, out var env) ? env : null;

    /// <summary>Sets a scope's limit for this session (Set-LlmRateLimit); checked first.</summary>
    public RateLimitSetting Set(string scope, int? requestsPerMinute, long? tokensPerMinute)
    {
        var setting = Check(scope, requestsPerMinute, tokensPerMinute, "Session", null);
        _session[setting.Scope] = setting;
        return setting;
    }

    /// <summary>Removes the session's limit of a scope; true when there was one. The environment's, if any, applies again.</summary>
    public bool Remove(string scope) => _session.TryRemove(scope.Trim(), out _);

    /// <summary>Reads "openai=3000rpm,1000000tpm; anthropic/claude-haiku-4-5=50rpm" (rpm and tpm in either order, ; or newlines between scopes).</summary>
    internal static Dictionary<string, RateLimitSetting> Parse(string text, string variable)
    {
        var limits = new Dictionary<string, RateLimitSetting>(StringComparer.OrdinalIgnoreCase);
        foreach (var entry in text.Split([';', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var equals = entry.IndexOf('=');
            int? rpm = null;
            long? tpm = null;
            var ok = equals > 0;
            foreach (var part in ok ? entry[(equals + 1)..].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) : [])
            {
                var unit = part.Length > 3 ? part[^3..].ToLowerInvariant() : string.Empty;
                ok &= long.TryParse(part[..^Math.Min(3, part.Length)].Replace("_", string.Empty), NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n is > 0 and <= MaxPerMinute;
                switch (unit)
                {
                    case "rpm" when rpm is null && n <= int.MaxValue:
                        rpm = (int)n;
                        break;
                    case "tpm" when tpm is null:
                        tpm = n;
                        break;
                    default:
                        ok = false;
                        break;
                }
            }

            if (!ok || (rpm is null && tpm is null))
            {
                throw EngineEnvironment.Invalid(variable, text,
                    "scopes with their limits, such as 'openai=3000rpm,1000000tpm; anthropic/claude-haiku-4-5=50rpm' (whole numbers from 1 to 1,000,000,000 per minute)",
                    "no configured limits; pacing from the providers' headers");
            }

            var setting = Check(entry[..equals], rpm, tpm, "Environment", variable, text);
            limits[setting.Scope] = setting;
        }

        return limits;
    }

    private static RateLimitSetting Check(string scope, int? rpm, long? tpm, string source, string? variable, string? text = null)
    {
        scope = scope.Trim();
        var slash = scope.IndexOf('/');
        string? problem = scope.Length == 0 || scope.Any(char.IsWhiteSpace) ? $"'{scope}' is not a provider (openai) or a whole model (openai/gpt-4o-mini)"
            : slash == 0 || slash == scope.Length - 1 ? $"'{scope}' is not a provider (openai) or a whole model (openai/gpt-4o-mini)"
            : rpm is null && tpm is null ? "give -RequestsPerMinute, -TokensPerMinute or both"
            : rpm is <= 0 ? $"-RequestsPerMinute must be a whole number from 1 to {int.MaxValue:N0}; got {rpm}"
            : tpm is <= 0 or > MaxPerMinute ? $"-TokensPerMinute must be a whole number from 1 to {MaxPerMinute:N0}; got {tpm}"
            : null;
        if (problem is not null)
        {
            throw variable is not null
                ? EngineEnvironment.Invalid(variable, text ?? scope, problem)
                : new LlmTasksException(ErrorIds.InvalidRateLimit, LlmErrorCategory.InvalidArgument, $"Invalid rate limit: {problem}.") { Target = scope };
        }

        var normalized = slash < 0 ? scope.ToLowerInvariant() : scope[..slash].ToLowerInvariant() + scope[slash..];
        return new RateLimitSetting { Scope = normalized, RequestsPerMinute = rpm, TokensPerMinute = tpm, Source = source };
    }
}

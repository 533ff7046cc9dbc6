using System.Globalization;

namespace LlmTasks.Configuration;

/// <summary>
/// The one place the engine reads environment variables. Options records take their defaults from here
/// when they are built, and a variable that is set but not usable (<c>LLMTASKS_MAX_RETRIES = 'lots'</c>) is
/// an <see cref="ErrorIds.InvalidEnvironment"/> error naming it as PowerShell users write it ($env:NAME),
/// instead of a value silently ignored. Tests pass their own lookup instead of the process environment.
/// </summary>
public sealed class EngineEnvironment(Func<string, string?>? lookup = null)
{
    private readonly Func<string, string?> _lookup = lookup ?? Environment.GetEnvironmentVariable;

    /// <summary>The process environment.</summary>
    public static EngineEnvironment Process { get; } = new();

    /// <summary>The value of a variable, trimmed; null when it is unset or blank.</summary>
    public string? Text(string name) => _lookup(name) is { } value && !string.IsNullOrWhiteSpace(value) ? value.Trim() : null;

    /// <summary>The value exactly as set (keys, paths), or null when unset or empty.</summary>
    public string? Raw(string name) => _lookup(name) is { Length: > 0 } value ? value : null;

    /// <summary>A whole number from <paramref name="min"/> to <paramref name="max"/>; null when unset.</summary>
    public int? Int(string name, int min, int max, string? defaultText = null)
    {
        if (Text(name) is not { } text)
        {
            return null;
        }

        return int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n >= min && n <= max
            ? n
            : throw Invalid(name, text, $"a whole number from {min} to {max}", defaultText);
    }

    /// <summary>A number (decimals allowed) over <paramref name="above"/> and at most <paramref name="max"/>; null when unset.</summary>
    public double? Number(string name, double above, double max, string? defaultText = null)
    {
        if (Text(name) is not { } text)
        {
            return null;
        }

        return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var n) && n > above && n <= max
            ? n
            : throw Invalid(name, text, $"a number over {above.ToString(CultureInfo.InvariantCulture)} and at most {max.ToString(CultureInfo.InvariantCulture)}", defaultText);
    }

    /// <summary>1/true/yes/on or 0/false/no/off (any case); null when unset.</summary>
    public bool? Flag(string name, string? defaultText = null)
    {
        if (Text(name) is not { } text)
        {
            return null;
        }

        return text.ToLowerInvariant() switch
        {
            "1" or "true" or "yes" or "on" => true,
            "0" or "false" or "no" or "off" => false,
            _ => throw Invalid(name, text, "1 or 0 (true or false)", defaultText),
        };
    }

    /// <summary>One of an enum's names (any case); null when unset.</summary>
    public T? Choice<T>(string name, string? defaultText = null)
        where T : struct, Enum
    {
        if (Text(name) is not { } text)
        {
            return null;
        }

        return Enum.TryParse<T>(text, ignoreCase: true, out var value) && Enum.IsDefined(value) && !int.TryParse(text, out _)
            ? value
            : throw Invalid(name, text, "one of " + string.Join(", ", Enum.GetNames<T>()), defaultText);
    }

    /// <summary>The error for a variable that is set to something the engine cannot use.</summary>
    public static LlmTasksException Invalid(string name, string value, string expected, string? defaultText = null) =>
        new(ErrorIds.InvalidEnvironment, LlmErrorCategory.InvalidArgument,
            $"$env:{name} is '{Shorten(value)}': it must be {expected}." + (defaultText is null ? string.Empty : $" Remove it for the default ({defaultText}).")) { Target = name };

    private static string Shorten(string value) => value.Length > 60 ? value[..60] + "…" : value;
}

using System.Text.Json;
using System.Text.RegularExpressions;

namespace LlmTasks.Diagnostics;

/// <summary>
/// The secrets this process has read (a task's -ApiKey, every provider's key variable it used, the Claude
/// Code CLI's tokens) and the one redactor that keeps them out of everything stored, printed or traced,
/// whatever they look like. Text is redacted where it enters the store (errors, outputs, attempt details,
/// check results), where an error is made (<see cref="LlmTasksException"/>) and where an engine event is
/// raised. Keys are never written anywhere, so a key is known only to the process that read it.
/// </summary>
public static partial class Secrets
{
    /// <summary>Values shorter than this are not treated as secrets: no real key is that short, and masking them would blank out ordinary words.</summary>
    public const int MinimumLength = 8;

    public const string Mask = "***";

    private static readonly object Lock = new();
    private static string[] _known = [];

    /// <summary>Remembers a secret this process read, so that it is redacted from then on (also its JSON-escaped form).</summary>
    public static void Remember(string? secret)
    {
        if (secret is null || secret.Trim().Length < MinimumLength)
        {
            return;
        }

        if (Array.IndexOf(Volatile.Read(ref _known), secret) >= 0)
        {
            return; // known already: every call of a task reads its key again
        }

        var forms = new[] { secret, secret.Trim(), JsonSerializer.Serialize(secret)[1..^1] };
        lock (Lock)
        {
            var known = _known.Concat(forms).Distinct(StringComparer.Ordinal).Where(f => f.Length >= MinimumLength).OrderByDescending(f => f.Length).ToArray();
            if (known.Length != _known.Length)
            {
                Volatile.Write(ref _known, known);
            }
        }
    }

    /// <summary>
    /// Text with every known secret, and anything shaped like an API key (sk-…, pk-…, rk-…), replaced by ***:
    /// for errors, details and messages.
    /// </summary>
    public static string Redact(string text) => KeyShaped().Replace(RedactKnown(text), "${prefix}" + Mask);

    /// <summary>
    /// Text with every known secret replaced, and nothing else: for outputs, where key-shaped text the model
    /// wrote (sk-your-key-here in an example) is content, but a key this process holds never is.
    /// </summary>
    public static string RedactKnown(string text)
    {
        foreach (var secret in Volatile.Read(ref _known))
        {
            if (text.Contains(secret, StringComparison.Ordinal))
            {
                text = text.Replace(secret, Mask, StringComparison.Ordinal);
            }
        }

        return text;
    }

    [return: System.Diagnostics.CodeAnalysis.NotNullIfNotNull(nameof(text))]
    internal static string? RedactOrNull(string? text) => text is null ? null : Redact(text);

    [return: System.Diagnostics.CodeAnalysis.NotNullIfNotNull(nameof(text))]
    internal static string? RedactKnownOrNull(string? text) => text is null ? null : RedactKnown(text);

    [GeneratedRegex(@"(?<prefix>\b(?:sk|pk|rk)-(?:ant-|proj-|or-)?)[A-Za-z0-9_\-]{8,}")]
    private static partial Regex KeyShaped();
}

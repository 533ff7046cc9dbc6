using System.Text;
using System.Text.RegularExpressions;

namespace LlmTasks.Storage;

/// <summary>
/// Name filters with PowerShell's wildcard rules (System.Management.Automation.WildcardPattern, as
/// Get-ChildItem -Path and Get-Job -Name use them): <c>*</c>, <c>?</c>, <c>[abc]</c> and <c>[a-z]</c>, a
/// backtick escapes the next character (<c>'`[a`]'</c> is the name <c>[a]</c>), a <c>]</c> right after
/// <c>[</c> is a member, and an unclosed <c>[</c> or a reversed range is an invalid pattern. Matching
/// ignores case. Patterns with only <c>*</c> and <c>?</c> become SQL LIKE; the rest a regex post-filter.
/// </summary>
internal static class Wildcard
{
    /// <summary>One parsed name filter: a plain name (escapes removed) or a pattern.</summary>
    internal sealed record Parsed(string? Literal, Regex? Regex, string? Like);

    private abstract record Token;
    private sealed record Char(char Value) : Token;
    private sealed record AnyOne : Token;
    private sealed record AnyMany : Token;
    private sealed record Set(string RegexClass) : Token;

    /// <summary>Parses a -Name value; an invalid pattern is an <see cref="ErrorIds.InvalidWildcard"/> error saying how to match it literally.</summary>
    public static Parsed Parse(string pattern) => Parse(pattern, "-Name");

    /// <summary>Parses the value of <paramref name="parameter"/> (-Model, -Scope …), which the error for an invalid pattern names.</summary>
    public static Parsed Parse(string pattern, string parameter)
    {
        var tokens = Tokens(pattern, parameter);
        if (tokens.All(t => t is Char))
        {
            return new Parsed(string.Concat(tokens.Cast<Char>().Select(c => c.Value)), null, null);
        }

        var regex = new StringBuilder("^");
        foreach (var token in tokens)
        {
            regex.Append(token switch
            {
                Char c => Regex.Escape(c.Value.ToString()),
                AnyOne => ".",
                AnyMany => ".*",
                Set s => s.RegexClass,
                _ => throw new InvalidOperationException(),
            });
        }

        var like = tokens.Any(t => t is Set) ? null : string.Concat(tokens.Select(t => t switch
        {
            AnyMany => "%",
            AnyOne => "_",
            Char { Value: '%' or '_' or '\\' } c => "\\" + c.Value,
            Char c => c.Value.ToString(),
            _ => throw new InvalidOperationException(),
        }));
        return new Parsed(null, new Regex(regex.Append('$').ToString(), RegexOptions.IgnoreCase | RegexOptions.CultureInvariant | RegexOptions.Singleline, TimeSpan.FromSeconds(1)), like);
    }

    /// <summary>A regex for what the pattern matches (a plain name: exactly that name), ignoring case.</summary>
    public static Regex ToRegex(string pattern)
    {
        var parsed = Parse(pattern);
        return parsed.Regex ?? new Regex("^" + Regex.Escape(parsed.Literal!) + "$",
            RegexOptions.IgnoreCase | RegexOptions.CultureInvariant | RegexOptions.Singleline, TimeSpan.FromSeconds(1));
    }

    /// <summary>A LIKE pattern (escape character \) for a typed prefix: its * and ? as wildcards, everything else literal.</summary>
    public static string LikePrefix(string prefix)
    {
        try
        {
            return Parse(prefix) switch
            {
                { Literal: { } literal } => EscapeLike(literal),
                { Like: { } like } => like,
                _ => EscapeLike(prefix),
            };
        }
        catch (LlmTasksException)
        {
            return EscapeLike(prefix);
        }
    }

    /// <summary>Text that a LIKE pattern (escape character \) matches as itself: its %, _ and \ escaped.</summary>
    public static string EscapeLike(string text) => text.Replace("\\", "\\\\").Replace("%", "\\%").Replace("_", "\\_");

    private static List<Token> Tokens(string pattern, string parameter)
    {
        var tokens = new List<Token>();
        for (var i = 0; i < pattern.Length; i++)
        {
            var c = pattern[i];
            switch (c)
            {
                case '`' when i + 1 < pattern.Length:
                    tokens.Add(new Char(pattern[++i]));
                    break;
                case '*':
                    tokens.Add(new AnyMany());
                    break;
                case '?':
                    tokens.Add(new AnyOne());
                    break;
                case '[':
                    i = ParseSet(pattern, i, tokens, parameter);
                    break;
                default:
                    tokens.Add(new Char(c)); // a trailing backtick, and a ] outside a set, are themselves
                    break;
            }
        }

        return tokens;
    }

    /// <summary>Reads [ … ] from <paramref name="start"/>; returns the index of its ].</summary>
    private static int ParseSet(string pattern, int start, List<Token> tokens, string parameter)
    {
        var members = new List<(char Value, bool Escaped)>();
        var i = start + 1;
        for (; ; i++)
        {
            if (i >= pattern.Length)
            {
                throw Invalid(pattern, "a [ is not closed by ]", parameter);
            }

            var c = pattern[i];
            if (c == '`' && i + 1 < pattern.Length)
            {
                members.Add((pattern[++i], true));
            }
            else if (c == ']' && members.Count > 0)
            {
                break;
            }
            else
            {
                members.Add((c, false));
            }
        }

        var set = new StringBuilder("[");
        for (var k = 0; k < members.Count; k++)
        {
            if (k + 2 < members.Count && members[k + 1] is ('-', false))
            {
                var (low, high) = (members[k].Value, members[k + 2].Value);
                if (low > high)
                {
                    throw Invalid(pattern, $"the range {low}-{high} runs backwards", parameter);
                }

                set.Append(InClass(low)).Append('-').Append(InClass(high));
                k += 2;
            }
            else
            {
                set.Append(InClass(members[k].Value));
            }
        }

        tokens.Add(new Set(set.Append(']').ToString()));
        return i;
    }

    private static string InClass(char c) => c is '\\' or ']' or '[' or '^' or '-' ? "\\" + c : c.ToString();

    private static LlmTasksException Invalid(string pattern, string why, string parameter) =>
        new(ErrorIds.InvalidWildcard, LlmErrorCategory.InvalidArgument,
            $"{parameter} '{pattern}' is not a valid wildcard pattern: {why}. To match the characters [ ] * ? literally, escape each with a backtick, for example {parameter} '`[draft`]'.")
        { Target = pattern };
}

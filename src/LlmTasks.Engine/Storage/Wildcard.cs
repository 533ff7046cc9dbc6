using System.Text;
using System.Text.RegularExpressions;

namespace LlmTasks.Storage;

/// <summary>PowerShell-style wildcards (* ? [abc]) for name filters, as SQL LIKE where possible.</summary>
internal static class Wildcard
{
    public static bool HasWildcards(string pattern) => pattern.IndexOfAny(['*', '?', '[']) >= 0;

    /// <summary>A LIKE pattern (escape character \) when the pattern uses only * and ?; null otherwise.</summary>
    public static string? ToLike(string pattern)
    {
        if (pattern.Contains('['))
        {
            return null;
        }

        var like = new StringBuilder(pattern.Length + 4);
        foreach (var c in pattern)
        {
            like.Append(c switch
            {
                '*' => "%",
                '?' => "_",
                '%' or '_' or '\\' => "\\" + c,
                _ => c.ToString(),
            });
        }

        return like.ToString();
    }

    public static Regex ToRegex(string pattern)
    {
        var regex = new StringBuilder("^");
        for (var i = 0; i < pattern.Length; i++)
        {
            var c = pattern[i];
            switch (c)
            {
                case '*': regex.Append(".*"); break;
                case '?': regex.Append('.'); break;
                case '[':
                    var end = pattern.IndexOf(']', i + 1);
                    if (end < 0)
                    {
                        regex.Append(@"\[");
                        break;
                    }

                    regex.Append('[').Append(pattern[(i + 1)..end].Replace("\\", "\\\\")).Append(']');
                    i = end;
                    break;
                default: regex.Append(Regex.Escape(c.ToString())); break;
            }
        }

        return new Regex(regex.Append('$').ToString(), RegexOptions.IgnoreCase | RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
    }
}

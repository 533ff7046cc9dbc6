namespace LlmTasks.Verification.Sql;

/// <summary>
/// SQLite's lexical rules, enough to read a statement SQLite's parser has accepted: words, 'strings',
/// "identifiers", [identifiers], `identifiers`, numbers, blobs, parameters and punctuation; -- and /* */
/// comments are dropped, so words in literals and comments never count.
/// </summary>
internal static class SqliteTokens
{
    internal enum Kind
    {
        Word,
        QuotedName,
        Literal,
        Punct,
    }

    internal readonly record struct Token(Kind Kind, string Text, int Index, int Depth)
    {
        public bool Is(string word) => Kind == Kind.Word && Text.Equals(word, StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>SQLite's keywords (sqlite.org/lang_keywords.html): a word that is not one of these names a column, table or function.</summary>
    internal static readonly HashSet<string> Keywords = new(StringComparer.OrdinalIgnoreCase)
    {
        "ABORT", "ACTION", "ADD", "AFTER", "ALL", "ALTER", "ALWAYS", "ANALYZE", "AND", "AS", "ASC", "ATTACH", "AUTOINCREMENT",
        "BEFORE", "BEGIN", "BETWEEN", "BY", "CASCADE", "CASE", "CAST", "CHECK", "COLLATE", "COLUMN", "COMMIT", "CONFLICT",
        "CONSTRAINT", "CREATE", "CROSS", "CURRENT", "CURRENT_DATE", "CURRENT_TIME", "CURRENT_TIMESTAMP", "DATABASE", "DEFAULT",
        "DEFERRABLE", "DEFERRED", "DELETE", "DESC", "DETACH", "DISTINCT", "DO", "DROP", "EACH", "ELSE", "END", "ESCAPE", "EXCEPT",
        "EXCLUDE", "EXCLUSIVE", "EXISTS", "EXPLAIN", "FAIL", "FILTER", "FIRST", "FOLLOWING", "FOR", "FOREIGN", "FROM", "FULL",
        "GENERATED", "GLOB", "GROUP", "GROUPS", "HAVING", "IF", "IGNORE", "IMMEDIATE", "IN", "INDEX", "INDEXED", "INITIALLY",
        "INNER", "INSERT", "INSTEAD", "INTERSECT", "INTO", "IS", "ISNULL", "JOIN", "KEY", "LAST", "LEFT", "LIKE", "LIMIT", "MATCH",
        "MATERIALIZED", "NATURAL", "NO", "NOT", "NOTHING", "NOTNULL", "NULL", "NULLS", "OF", "OFFSET", "ON", "OR", "ORDER",
        "OTHERS", "OUTER", "OVER", "PARTITION", "PLAN", "PRAGMA", "PRECEDING", "PRIMARY", "QUERY", "RAISE", "RANGE", "RECURSIVE",
        "REFERENCES", "REGEXP", "REINDEX", "RELEASE", "RENAME", "REPLACE", "RESTRICT", "RETURNING", "RIGHT", "ROLLBACK", "ROW",
        "ROWS", "SAVEPOINT", "SELECT", "SET", "TABLE", "TEMP", "TEMPORARY", "THEN", "TIES", "TO", "TRANSACTION", "TRIGGER",
        "UNBOUNDED", "UNION", "UNIQUE", "UPDATE", "USING", "VACUUM", "VALUES", "VIEW", "VIRTUAL", "WHEN", "WHERE", "WINDOW",
        "WITH", "WITHOUT", "TRUE", "FALSE",
    };

    public static List<Token> Read(string sql)
    {
        var tokens = new List<Token>();
        var depth = 0;
        var i = 0;
        while (i < sql.Length)
        {
            var c = sql[i];
            var start = i;
            if (char.IsWhiteSpace(c))
            {
                i++;
            }
            else if (c == '-' && At(sql, i + 1) == '-')
            {
                while (i < sql.Length && sql[i] != '\n')
                {
                    i++;
                }
            }
            else if (c == '/' && At(sql, i + 1) == '*')
            {
                var end = sql.IndexOf("*/", i + 2, StringComparison.Ordinal);
                i = end < 0 ? sql.Length : end + 2;
            }
            else if (c is '\'' or '"' or '`')
            {
                i = Quoted(sql, i, c);
                tokens.Add(new Token(c == '\'' ? Kind.Literal : Kind.QuotedName, sql[start..i], start, depth));
            }
            else if (c == '[')
            {
                var end = sql.IndexOf(']', i + 1);
                i = end < 0 ? sql.Length : end + 1;
                tokens.Add(new Token(Kind.QuotedName, sql[start..i], start, depth));
            }
            else if ((c is 'x' or 'X') && At(sql, i + 1) == '\'')
            {
                i = Quoted(sql, i + 1, '\'');
                tokens.Add(new Token(Kind.Literal, sql[start..i], start, depth));
            }
            else if (char.IsDigit(c) || (c == '.' && char.IsDigit(At(sql, i + 1))))
            {
                while (i < sql.Length && (char.IsLetterOrDigit(sql[i]) || sql[i] is '.' or '_' || ((sql[i] is '+' or '-') && sql[i - 1] is 'e' or 'E')))
                {
                    i++;
                }

                tokens.Add(new Token(Kind.Literal, sql[start..i], start, depth));
            }
            else if (c is '?' or ':' or '@' or '$' && i + 1 < sql.Length && (char.IsLetterOrDigit(sql[i + 1]) || sql[i + 1] == '_'))
            {
                i++;
                while (i < sql.Length && (char.IsLetterOrDigit(sql[i]) || sql[i] is '_' or '$'))
                {
                    i++;
                }

                tokens.Add(new Token(Kind.Literal, sql[start..i], start, depth)); // a bound parameter: a value, not a name
            }
            else if (char.IsLetter(c) || c == '_' || c > 127)
            {
                while (i < sql.Length && (char.IsLetterOrDigit(sql[i]) || sql[i] is '_' or '$' || sql[i] > 127))
                {
                    i++;
                }

                tokens.Add(new Token(Kind.Word, sql[start..i], start, depth));
            }
            else
            {
                if (c == ')')
                {
                    depth = Math.Max(0, depth - 1);
                }

                tokens.Add(new Token(Kind.Punct, c.ToString(), start, depth));
                if (c == '(')
                {
                    depth++;
                }

                i++;
            }
        }

        return tokens;
    }

    private static char At(string text, int index) => index < text.Length ? text[index] : '\0';

    /// <summary>The index after a quoted run starting at <paramref name="i"/>; a doubled quote is an escaped one.</summary>
    private static int Quoted(string sql, int i, char quote)
    {
        i++;
        while (i < sql.Length)
        {
            if (sql[i] == quote)
            {
                if (At(sql, i + 1) == quote)
                {
                    i += 2;
                    continue;
                }

                return i + 1;
            }

            i++;
        }

        return sql.Length;
    }
}

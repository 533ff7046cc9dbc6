using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Data.Sqlite;
using SQLitePCL;
using static LlmTasks.Verification.Sql.SqliteTokens;

namespace LlmTasks.Verification.Sql;

/// <summary>
/// SQLite with SQLite's own parser: each statement is prepared (compiled, never run) against a private,
/// empty in-memory database. A syntax error ("near …: syntax error", "incomplete input", "unrecognized
/// token") fails, at the byte offset SQLite reports; a name error ("no such table/column/function") is
/// not a syntax error. SQLite stops at the first error of a statement, so for "no such table: t" an
/// empty table t is created in the private database and the statement prepared again, until it compiles
/// or fails for another reason; then the next statement starts where sqlite3_complete says this one ends.
/// PRAGMA statements are refused by an authorizer before they take effect (some act while being
/// prepared, such as temp_store_directory, which is process-wide).
/// </summary>
internal static class SqliteDialectParser
{
    private const int MaxMadeTables = 32;

    public static SqlParse Parse(string sql)
    {
        using var connection = new SqliteConnection("Data Source=:memory:");
        connection.Open();
        var db = connection.Handle!;
        raw.sqlite3_set_authorizer(db, (strdelegate_authorizer)((_, action, _, _, _, _) => action == raw.SQLITE_PRAGMA ? raw.SQLITE_DENY : raw.SQLITE_OK), null);
        var bytes = Encoding.UTF8.GetBytes(sql);
        var statements = new List<SqlStatement>();
        var notes = new List<string>();
        var offset = 0;
        var made = 0;
        while (offset < bytes.Length)
        {
            var rest = bytes.AsSpan(offset);
            var rc = raw.sqlite3_prepare_v2(db, rest, out var stmt, out var tail);
            var end = offset + (rest.Length - tail.Length);
            if (rc == raw.SQLITE_OK)
            {
                using (stmt)
                {
                    if (stmt is null || stmt.IsInvalid)
                    {
                        break; // only comments or whitespace were left
                    }
                }

                Add(statements, sql, TextPosition.CharIndexOfUtf8(bytes, offset), TextPosition.CharIndexOfUtf8(bytes, end));
                offset = end > offset ? end : bytes.Length;
                continue;
            }

            stmt?.Dispose();
            var message = raw.sqlite3_errmsg(db).utf8_to_string() ?? "unknown error";
            var errorOffset = ErrorOffset(db);
            if (IsSyntaxError(message))
            {
                var at = message.StartsWith("incomplete input", StringComparison.Ordinal) || errorOffset < 0
                    ? (errorOffset < 0 && Near(message) is { } near ? IndexOfNear(sql, TextPosition.CharIndexOfUtf8(bytes, offset), near) : sql.TrimEnd().Length)
                    : TextPosition.CharIndexOfUtf8(bytes, offset + errorOffset);
                var what = message.StartsWith("incomplete input", StringComparison.Ordinal) ? "incomplete input: the SQL ends inside a statement, string, comment or parenthesis" : message;
                return SqlParse.Failed(SqlDialect.Sqlite, new SqlSyntaxError(TextPosition.At(sql, at), what));
            }

            if (message.StartsWith("no such table: ", StringComparison.Ordinal) && made < MaxMadeTables && MakeTable(db, message["no such table: ".Length..]))
            {
                made++;
                continue; // prepare the same statement again, now that the table exists
            }

            var startChar = TextPosition.CharIndexOfUtf8(bytes, offset);
            var endChar = EndOfStatement(sql, startChar);
            notes.Add(message);
            Add(statements, sql, startChar, endChar);
            offset = Encoding.UTF8.GetByteCount(sql.AsSpan(0, endChar));
        }

        return new SqlParse(SqlDialect.Sqlite, statements, [], Note: notes.Count == 0 ? null : "SQLite also reported (not syntax errors): " + string.Join("; ", notes.Distinct()));
    }

    /// <summary>The classes of SQLite error that mean the text is not SQLite SQL (as opposed to a name that is not in the empty database).</summary>
    internal static bool IsSyntaxError(string message) =>
        message.Contains("syntax error", StringComparison.Ordinal)
        || message.StartsWith("incomplete input", StringComparison.Ordinal)
        || message.StartsWith("unrecognized token", StringComparison.Ordinal)
        || message.StartsWith("parser stack overflow", StringComparison.Ordinal);

    private static void Add(List<SqlStatement> statements, string sql, int start, int end)
    {
        var text = sql[start..end];
        var tokens = Read(text);
        if (tokens.Count == 0 || tokens.All(t => t.Kind == Kind.Punct && t.Text == ";"))
        {
            return;
        }

        var number = statements.Select(s => s.Number).DefaultIfEmpty(0).Max() + 1;
        var first = tokens.FindIndex(t => t.Kind != Kind.Punct);
        if (first < 0)
        {
            return;
        }

        var position = TextPosition.At(sql, start + tokens[first].Index);
        var main = Describe(tokens, first, number, position);
        statements.Add(main);
        if (tokens[first].Is("CREATE") && tokens.FindIndex(first, t => t.Is("TRIGGER")) is var trigger and >= 0)
        {
            // The trigger's body: statements between BEGIN and END, separated by ';'.
            var begin = tokens.FindIndex(trigger, t => t.Depth == 0 && t.Is("BEGIN"));
            var from = begin + 1;
            for (var i = from; begin >= 0 && i < tokens.Count; i++)
            {
                if (tokens[i].Depth == 0 && tokens[i].Text == ";")
                {
                    if (i > from)
                    {
                        statements.Add(Describe(tokens[from..i], 0, number, TextPosition.At(sql, start + tokens[from].Index)) with { Inside = "CREATE TRIGGER" });
                    }

                    from = i + 1;
                }
            }
        }
    }

    private static SqlStatement Describe(List<Token> tokens, int first, int number, TextPosition position)
    {
        var lead = tokens[first];
        if (lead.Is("WITH"))
        {
            var body = tokens.FindIndex(first, t => t.Depth == 0 && (t.Is("SELECT") || t.Is("VALUES") || t.Is("INSERT") || t.Is("REPLACE") || t.Is("UPDATE") || t.Is("DELETE")));
            return body < 0 ? new SqlStatement(number, position, "WITH", SqlCategory.Select) : Describe(tokens, body, number, position);
        }

        var word = lead.Text.ToUpperInvariant();
        string Next(int skip = 1) => tokens.Skip(first + skip).FirstOrDefault(t => t.Kind == Kind.Word && !t.Is("TEMP") && !t.Is("TEMPORARY") && !t.Is("UNIQUE") && !t.Is("VIRTUAL")).Text?.ToUpperInvariant() ?? string.Empty;
        return word switch
        {
            "SELECT" or "VALUES" => new SqlStatement(number, position, "SELECT", SqlCategory.Select),
            "INSERT" or "REPLACE" => new SqlStatement(number, position, word, SqlCategory.Insert),
            "UPDATE" => new SqlStatement(number, position, "UPDATE", SqlCategory.Update, WhereAfter(tokens, first)),
            "DELETE" => new SqlStatement(number, position, "DELETE", SqlCategory.Delete, WhereAfter(tokens, first)),
            "CREATE" => new SqlStatement(number, position, $"CREATE {Next()}".Trim(), SqlCategory.Create),
            "DROP" => new SqlStatement(number, position, $"DROP {Next()}".Trim(), SqlCategory.Drop),
            "ALTER" => new SqlStatement(number, position, $"ALTER {Next()}".Trim(), SqlCategory.Alter),
            _ => new SqlStatement(number, position, word, SqlCategory.Other),
        };
    }

    /// <summary>The WHERE of an UPDATE or DELETE: the top-level WHERE after it (SQLite has accepted the statement, so that is its WHERE).</summary>
    private static SqlWhere WhereAfter(List<Token> tokens, int first)
    {
        var where = tokens.FindIndex(first, t => t.Depth == 0 && t.Is("WHERE"));
        if (where < 0)
        {
            return SqlWhere.Missing;
        }

        for (var i = where + 1; i < tokens.Count; i++)
        {
            var token = tokens[i];
            if (token.Depth == 0 && (token.Is("RETURNING") || token.Is("ORDER") || token.Is("LIMIT") || token.Text == ";"))
            {
                break;
            }

            var call = i + 1 < tokens.Count && tokens[i + 1].Text == "(";
            if ((token.Kind == Kind.QuotedName || (token.Kind == Kind.Word && !Keywords.Contains(token.Text))) && !call)
            {
                return SqlWhere.Present;
            }
        }

        return SqlWhere.NamesNoColumn;
    }

    /// <summary>Where the statement starting at <paramref name="start"/> ends: after the first ';' that makes it complete for SQLite.</summary>
    private static int EndOfStatement(string sql, int start)
    {
        for (var i = sql.IndexOf(';', start); i >= 0; i = sql.IndexOf(';', i + 1))
        {
            if (raw.sqlite3_complete(sql[start..(i + 1)]) != 0)
            {
                return i + 1;
            }
        }

        return sql.Length;
    }

    private static bool MakeTable(sqlite3 db, string name)
    {
        var temp = name.StartsWith("temp.", StringComparison.OrdinalIgnoreCase);
        name = temp ? name[5..] : name.StartsWith("main.", StringComparison.OrdinalIgnoreCase) ? name[5..] : name;
        if (name.Contains('.'))
        {
            return false;
        }

        var quoted = "\"" + name.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
        return raw.sqlite3_exec(db, $"CREATE {(temp ? "TEMP " : string.Empty)}TABLE IF NOT EXISTS {quoted}(x)") == raw.SQLITE_OK;
    }

    private static string? Near(string message)
    {
        const string prefix = "near \"";
        var end = message.IndexOf("\": syntax error", StringComparison.Ordinal);
        return message.StartsWith(prefix, StringComparison.Ordinal) && end > prefix.Length ? message[prefix.Length..end] : null;
    }

    private static int IndexOfNear(string sql, int from, string near)
    {
        var index = sql.IndexOf(near, from, StringComparison.Ordinal);
        return index < 0 ? from : index;
    }

    /// <summary>sqlite3_error_offset (SQLite 3.38+): the byte offset of the token the last error is about, or -1.</summary>
    private static int ErrorOffset(sqlite3 db)
    {
        try
        {
            return NativeErrorOffset(db.DangerousGetHandle());
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return -1;
        }
    }

    [DllImport("e_sqlite3", EntryPoint = "sqlite3_error_offset", CallingConvention = CallingConvention.Cdecl)]
    private static extern int NativeErrorOffset(IntPtr db);
}

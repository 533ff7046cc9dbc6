using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using LlmTasks.Verification.Tools;

namespace LlmTasks.Verification.Sql;

/// <summary>
/// PostgreSQL with PostgreSQL's own parser: libpg_query (the PostgreSQL 18 server's grammar and lexer,
/// compiled to WebAssembly by the libpg-query npm package, shipped with the module in deps/pg), run by
/// node with a fixed script (pg-parse.cjs) and the SQL on stdin. It is the raw parser: names are never
/// looked up, so nothing but syntax can fail. Without node the dialect is unavailable (the check says
/// so, it never guesses).
/// </summary>
internal static partial class PostgreSqlDialectParser
{
    internal static readonly string[] ParserFiles = ["pg-parse.cjs", "libpg-query.js", "libpg-query.wasm"];

    public static async Task<SqlParse> ParseAsync(string sql, CheckToolOptions tools, CancellationToken cancellationToken)
    {
        var folder = tools.ParserFolder;
        if (ParserFiles.FirstOrDefault(f => !File.Exists(Path.Combine(folder, f))) is { } missing)
        {
            return SqlParse.NotAvailable(SqlDialect.PostgreSql, $"the PostgreSQL parser is not installed ({Path.Combine(folder, missing)} is missing; rebuild or reinstall the module)");
        }

        var configured = tools.NodeSetting;
        var node = ToolRun.Find(configured ?? "node");
        if (node is null)
        {
            return SqlParse.NotAvailable(SqlDialect.PostgreSql, configured is null
                ? $"PostgreSQL SQL is parsed by PostgreSQL's own parser, which runs in node, and there is no node on PATH (install Node.js 18 or later, or set ${CheckToolOptions.NodeVariable} to node's full path)"
                : $"'{configured}' (${CheckToolOptions.NodeVariable} or the options) does not exist");
        }

        var run = await ToolRun.RunAsync(node, [Path.Combine(folder, "pg-parse.cjs")], sql, tools.Timeout, cancellationToken).ConfigureAwait(false);
        if (run.Problem is { } problem)
        {
            return SqlParse.NotAvailable(SqlDialect.PostgreSql, $"the PostgreSQL parser did not run: {problem}");
        }

        JsonElement answer;
        try
        {
            using var document = JsonDocument.Parse(run.Stdout);
            answer = document.RootElement.Clone();
        }
        catch (JsonException)
        {
            return SqlParse.NotAvailable(SqlDialect.PostgreSql, $"the PostgreSQL parser did not answer (node exit code {run.ExitCode}): {ToolRun.Tail(run.Stderr.Length > 0 ? run.Stderr : run.Stdout)}");
        }

        if (answer.TryGetProperty("error", out var error))
        {
            var message = error.TryGetProperty("message", out var m) ? m.GetString() ?? "syntax error" : "syntax error";
            var cursor = error.TryGetProperty("cursor", out var c) && c.TryGetInt32(out var n) ? n : 0;
            var index = cursor > 0 ? TextPosition.CharIndexOfCodePoint(sql, cursor - 1) : sql.TrimEnd().Length;
            return SqlParse.Failed(SqlDialect.PostgreSql, new SqlSyntaxError(TextPosition.At(sql, index), message));
        }

        return new SqlParse(SqlDialect.PostgreSql, Statements(sql, answer.GetProperty("tree")), []);
    }

    internal static IReadOnlyList<SqlStatement> Statements(string sql, JsonElement tree)
    {
        var utf8 = Encoding.UTF8.GetBytes(sql);
        var statements = new List<SqlStatement>();
        if (!tree.TryGetProperty("stmts", out var stmts))
        {
            return statements;
        }

        var number = 0;
        foreach (var raw in stmts.EnumerateArray())
        {
            number++;
            var location = raw.TryGetProperty("stmt_location", out var l) ? l.GetInt32() : 0;
            var position = TextPosition.At(sql, TextPosition.CharIndexOfUtf8(utf8, location));
            if (!raw.TryGetProperty("stmt", out var stmt) || stmt.ValueKind != JsonValueKind.Object)
            {
                continue;
            }

            var top = stmt.EnumerateObject().First();
            var topStatement = Describe(top.Name, top.Value, number, position, null);
            statements.Add(topStatement);
            foreach (var (name, body) in Nested(top.Value))
            {
                var at = FirstLocation(body) is { } byteOffset ? TextPosition.At(sql, TextPosition.CharIndexOfUtf8(utf8, byteOffset)) : position;
                statements.Add(Describe(name, body, number, at, topStatement.Kind));
            }
        }

        return statements;
    }

    /// <summary>Statements inside a statement (a data-modifying WITH, EXPLAIN, PREPARE, CREATE RULE …); subqueries (SELECT) are not statements of their own.</summary>
    private static IEnumerable<(string Name, JsonElement Body)> Nested(JsonElement node)
    {
        switch (node.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (var property in node.EnumerateObject())
                {
                    if (property.Name.EndsWith("Stmt", StringComparison.Ordinal) && property.Value.ValueKind == JsonValueKind.Object)
                    {
                        if (property.Name != "SelectStmt")
                        {
                            yield return (property.Name, property.Value);
                        }
                    }

                    foreach (var inner in Nested(property.Value))
                    {
                        yield return inner;
                    }
                }

                break;
            case JsonValueKind.Array:
                foreach (var item in node.EnumerateArray())
                {
                    foreach (var inner in Nested(item))
                    {
                        yield return inner;
                    }
                }

                break;
        }
    }

    private static SqlStatement Describe(string name, JsonElement body, int number, TextPosition position, string? inside)
    {
        var kind = KindOf(name, body);
        var category = name switch
        {
            "SelectStmt" => SqlCategory.Select,
            "InsertStmt" => SqlCategory.Insert,
            "UpdateStmt" => SqlCategory.Update,
            "DeleteStmt" => SqlCategory.Delete,
            "MergeStmt" => SqlCategory.Merge,
            "TruncateStmt" => SqlCategory.Truncate,
            "DoStmt" => SqlCategory.Dynamic,
            "CopyStmt" when Flag(body, "is_program") => SqlCategory.Dynamic,
            "GrantStmt" or "GrantRoleStmt" => Flag(body, "is_grant") ? SqlCategory.Grant : SqlCategory.Revoke,
            "RenameStmt" or "ReassignOwnedStmt" => SqlCategory.Alter,
            "IndexStmt" or "ViewStmt" or "RuleStmt" => SqlCategory.Create,
            _ when name.StartsWith("Drop", StringComparison.Ordinal) => SqlCategory.Drop,
            _ when name.StartsWith("Alter", StringComparison.Ordinal) => SqlCategory.Alter,
            _ when name.StartsWith("Create", StringComparison.Ordinal) => SqlCategory.Create,
            _ => SqlCategory.Other,
        };
        var where = name is "DeleteStmt" or "UpdateStmt" ? WhereOf(body) : SqlWhere.NotApplicable;
        return new SqlStatement(number, position, kind, category, where, inside);
    }

    private static SqlWhere WhereOf(JsonElement body)
    {
        if (!body.TryGetProperty("whereClause", out var where))
        {
            return SqlWhere.Missing;
        }

        var text = where.GetRawText();
        return text.Contains("\"ColumnRef\"", StringComparison.Ordinal) || text.Contains("\"CurrentOfExpr\"", StringComparison.Ordinal)
            ? SqlWhere.Present
            : SqlWhere.NamesNoColumn;
    }

    /// <summary>"DeleteStmt" → "DELETE", a DropStmt of a table → "DROP TABLE", a GrantStmt that revokes → "REVOKE".</summary>
    private static string KindOf(string name, JsonElement body)
    {
        string? Object(string property) => body.TryGetProperty(property, out var v) && v.GetString() is { } s && s.StartsWith("OBJECT_", StringComparison.Ordinal)
            ? s["OBJECT_".Length..].Replace('_', ' ')
            : null;
        return name switch
        {
            "CreateStmt" => "CREATE TABLE",
            "IndexStmt" => "CREATE INDEX",
            "ViewStmt" => "CREATE VIEW",
            "RuleStmt" => "CREATE RULE",
            "CreateTrigStmt" => "CREATE TRIGGER",
            "CreatedbStmt" => "CREATE DATABASE",
            "DropdbStmt" => "DROP DATABASE",
            "DropStmt" => "DROP " + (Object("removeType") ?? "OBJECT"),
            "AlterTableStmt" => "ALTER " + (Object("objtype") ?? "TABLE"),
            "RenameStmt" => "ALTER " + (Object("renameType") ?? "OBJECT") + " RENAME",
            "GrantStmt" => Flag(body, "is_grant") ? "GRANT" : "REVOKE",
            "GrantRoleStmt" => Flag(body, "is_grant") ? "GRANT ROLE" : "REVOKE ROLE",
            "CopyStmt" when Flag(body, "is_program") => "COPY PROGRAM",
            _ => Words().Replace(name.EndsWith("Stmt", StringComparison.Ordinal) ? name[..^4] : name, " $1").Trim().ToUpperInvariant(),
        };
    }

    /// <summary>libpg_query's JSON leaves out false booleans.</summary>
    private static bool Flag(JsonElement body, string name) => body.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.True;

    private static int? FirstLocation(JsonElement node)
    {
        int? best = null;
        void Walk(JsonElement e)
        {
            if (e.ValueKind == JsonValueKind.Object)
            {
                foreach (var p in e.EnumerateObject())
                {
                    if (p.Name == "location" && p.Value.TryGetInt32(out var n) && n >= 0)
                    {
                        best = best is { } b ? Math.Min(b, n) : n;
                    }
                    else
                    {
                        Walk(p.Value);
                    }
                }
            }
            else if (e.ValueKind == JsonValueKind.Array)
            {
                foreach (var item in e.EnumerateArray())
                {
                    Walk(item);
                }
            }
        }

        Walk(node);
        return best;
    }

    [GeneratedRegex("(?<=[a-z0-9])([A-Z])")]
    private static partial Regex Words();
}

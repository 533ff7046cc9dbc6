using System.Text.RegularExpressions;
using Microsoft.SqlServer.TransactSql.ScriptDom;

namespace LlmTasks.Verification.Sql;

/// <summary>
/// T-SQL with Microsoft's own parser (Microsoft.SqlServer.TransactSql.ScriptDom, the latest grammar,
/// QUOTED_IDENTIFIER on). Batches split by GO. One T-SQL rule is tightened: the first statement of a
/// batch may name a stored procedure without EXEC, so "SELEC 1" is valid T-SQL (a call of a procedure
/// SELEC); that is reported as an error, since it is almost always a misspelt keyword.
/// </summary>
internal static partial class TSqlDialectParser
{
    public static SqlParse Parse(string sql)
    {
        var parser = new TSql170Parser(initialQuotedIdentifiers: true);
        var fragment = parser.Parse(new StringReader(sql), out var errors);
        if (errors.Count > 0)
        {
            return SqlParse.Failed(SqlDialect.TSql, errors.Select(e => new SqlSyntaxError(new TextPosition(e.Line, e.Column), e.Message)).ToArray());
        }

        var statements = new List<SqlStatement>();
        var number = 0;
        foreach (var top in (fragment as TSqlScript)?.Batches.SelectMany(b => b.Statements) ?? [])
        {
            number++;
            if (top is ExecuteStatement exec && !StartsWithExec(exec))
            {
                var name = exec.ScriptTokenStream[exec.FirstTokenIndex].Text;
                return SqlParse.Failed(SqlDialect.TSql, new SqlSyntaxError(new TextPosition(exec.StartLine, exec.StartColumn),
                    $"'{name}' is not a T-SQL keyword; T-SQL would read it as a call of a stored procedure named {name} (the first statement of a batch may leave out EXEC). Write EXEC {name} if a procedure call is meant."));
            }

            var collector = new StatementCollector();
            top.Accept(collector);
            var topKind = KindOf(top);
            foreach (var statement in collector.Statements)
            {
                statements.Add(Describe(statement, number, ReferenceEquals(statement, top) ? null : topKind));
            }
        }

        return new SqlParse(SqlDialect.TSql, statements, []);
    }

    private static bool StartsWithExec(ExecuteStatement exec) =>
        exec.ScriptTokenStream[exec.FirstTokenIndex].TokenType is TSqlTokenType.Exec or TSqlTokenType.Execute;

    private static SqlStatement Describe(TSqlStatement node, int number, string? inside)
    {
        var position = new TextPosition(node.StartLine, node.StartColumn);
        var kind = KindOf(node);
        var name = node.GetType().Name;
        var category = node switch
        {
            SelectStatement => SqlCategory.Select,
            InsertStatement => SqlCategory.Insert,
            UpdateStatement => SqlCategory.Update,
            DeleteStatement => SqlCategory.Delete,
            MergeStatement => SqlCategory.Merge,
            TruncateTableStatement => SqlCategory.Truncate,
            ExecuteStatement e when IsDynamic(e) => SqlCategory.Dynamic,
            _ when name.StartsWith("Drop", StringComparison.Ordinal) => SqlCategory.Drop,
            _ when name.StartsWith("Alter", StringComparison.Ordinal) || name.StartsWith("CreateOrAlter", StringComparison.Ordinal) => SqlCategory.Alter,
            _ when name.StartsWith("Create", StringComparison.Ordinal) => SqlCategory.Create,
            _ when name.StartsWith("Grant", StringComparison.Ordinal) => SqlCategory.Grant,
            _ when name.StartsWith("Revoke", StringComparison.Ordinal) => SqlCategory.Revoke,
            _ when name.StartsWith("Deny", StringComparison.Ordinal) => SqlCategory.Deny,
            _ => SqlCategory.Other,
        };
        var where = node switch
        {
            DeleteStatement d => WhereOf(d.DeleteSpecification?.WhereClause, d.DeleteSpecification?.FromClause),
            UpdateStatement u => WhereOf(u.UpdateSpecification?.WhereClause, u.UpdateSpecification?.FromClause),
            _ => SqlWhere.NotApplicable,
        };
        return new SqlStatement(number, position, kind, category, where, inside);
    }

    /// <summary>
    /// The rows an UPDATE or DELETE picks: its WHERE, or in T-SQL also a FROM whose JOIN … ON names columns
    /// (DELETE t FROM t JOIN u ON t.id = u.id deletes the matching rows only).
    /// </summary>
    private static SqlWhere WhereOf(WhereClause? where, FromClause? from)
    {
        if (where is null)
        {
            var joined = new ColumnFinder();
            from?.Accept(joined);
            return joined.Found ? SqlWhere.Present : SqlWhere.Missing;
        }

        if (where.Cursor is not null)
        {
            return SqlWhere.Present; // WHERE CURRENT OF cursor: one row
        }

        var columns = new ColumnFinder();
        where.SearchCondition?.Accept(columns);
        return columns.Found ? SqlWhere.Present : SqlWhere.NamesNoColumn;
    }

    /// <summary>EXEC of a string or variable, or of sp_executesql / xp_cmdshell: code that was not parsed here.</summary>
    private static bool IsDynamic(ExecuteStatement exec) => exec.ExecuteSpecification?.ExecutableEntity switch
    {
        ExecutableStringList => true,
        ExecutableProcedureReference p => p.ProcedureReference?.ProcedureReference?.Name?.BaseIdentifier?.Value is { } proc
                                          && (proc.Equals("sp_executesql", StringComparison.OrdinalIgnoreCase) || proc.Equals("xp_cmdshell", StringComparison.OrdinalIgnoreCase)),
        _ => false,
    };

    /// <summary>"DropTableStatement" → "DROP TABLE".</summary>
    private static string KindOf(TSqlStatement node)
    {
        var name = node.GetType().Name;
        name = name.EndsWith("Statement", StringComparison.Ordinal) ? name[..^"Statement".Length] : name;
        return Words().Replace(name, " $1").Trim().ToUpperInvariant();
    }

    [GeneratedRegex("(?<=[a-z0-9])([A-Z])")]
    private static partial Regex Words();

    private sealed class StatementCollector : TSqlFragmentVisitor
    {
        public List<TSqlStatement> Statements { get; } = [];

        public override void Visit(TSqlStatement node) => Statements.Add(node);
    }

    private sealed class ColumnFinder : TSqlFragmentVisitor
    {
        public bool Found { get; private set; }

        public override void Visit(ColumnReferenceExpression node) => Found = true;
    }
}

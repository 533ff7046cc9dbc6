namespace LlmTasks.Verification.Sql;

/// <summary>
/// The SQL of an output (its first fenced sql block, else an untagged one, else the whole text), parsed in
/// the check's dialect, with every position moved into the output's own lines.
/// </summary>
internal static class SqlInput
{
    private static readonly string[] Tags = ["sql", "tsql", "t-sql", "mssql", "sqlserver", "sqlite", "sqlite3", "postgresql", "postgres", "pgsql", "psql", "plpgsql"];

    public static async Task<(FencedCode Code, SqlParse Parse)> ParseAsync(CheckContext context, SqlDialect dialect)
    {
        var code = FencedCode.Extract(context.Output, Tags);
        var parse = await SqlParsers.ParseAsync(dialect, code.Code, context.Environment.Services.Tools, context.CancellationToken).ConfigureAwait(false);
        var shift = code.StartLine - 1;
        if (shift == 0)
        {
            return (code, parse);
        }

        TextPosition Move(TextPosition p) => new(p.Line + shift, p.Column);
        return (code, parse with
        {
            Statements = parse.Statements.Select(s => s with { Position = Move(s.Position) }).ToArray(),
            Errors = parse.Errors.Select(e => e with { Position = Move(e.Position) }).ToArray(),
        });
    }

    public static string Describe(IReadOnlyList<SqlSyntaxError> errors) =>
        string.Join("; ", errors.Take(5)) + (errors.Count > 5 ? $"; and {errors.Count - 5} more" : string.Empty);
}

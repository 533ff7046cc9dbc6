using System.Text.Json;

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

    /// <summary>
    /// The verdict for SQL that cannot be judged further — none in the output, a parser that cannot run
    /// here (unavailable, no verdict on the answer), or syntax errors — else null. <paramref name="then"/>
    /// ends the syntax-error reason ("" for a plain parse failure).
    /// </summary>
    public static CheckVerdict? Unusable(FencedCode code, SqlParse parse, SqlDialect dialect, string then = "")
    {
        var name = dialect == SqlDialect.Generic ? "SQL" : dialect.Display();
        if (string.IsNullOrWhiteSpace(code.Code))
        {
            return CheckVerdict.Fail("The output holds no SQL.", $"Answer with {name} in a ```sql block.");
        }

        if (parse.Unavailable is { } why)
        {
            return new CheckVerdict(false, $"The SQL could not be checked as {dialect.Display()}: {why}.", Unavailable: true);
        }

        if (parse.Errors.Count == 0)
        {
            return null;
        }

        return CheckVerdict.Fail($"The SQL does not parse as {dialect.Display()}{then}: {Describe(parse.Errors)}",
            $"Fix the syntax at {parse.Errors[0].Position} so that the SQL parses as {dialect.Display()}.",
            JsonSerializer.Serialize(parse.Errors.Select(e => new Dictionary<string, object?>
            {
                ["dialect"] = (e.In ?? parse.Dialect).ToString(), ["line"] = e.Position.Line, ["column"] = e.Position.Column, ["message"] = e.Message,
            })));
    }
}

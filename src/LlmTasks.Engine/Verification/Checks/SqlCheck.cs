using System.Text.Json;
using LlmTasks.Verification.Sql;

namespace LlmTasks.Verification.Checks;

/// <summary>
/// Sql: the output's SQL parses in the Dialect (TSql, Sqlite, PostgreSql; Generic, the default: at least
/// one of them) with that dialect's real parser. A failure names the line, the column and the parser's
/// message; a dialect that cannot run here (PostgreSQL without node) makes the check unavailable.
/// </summary>
internal sealed class SqlCheck : IOutputCheck
{
    private readonly SqlDialect _dialect;

    public SqlCheck(CheckSpec spec, Func<string, Exception> invalid)
    {
        Spec = spec;
        if (!SqlDialects.TryParse(spec.Dialect, out _dialect))
        {
            throw invalid($"Dialect '{spec.Dialect}' is not one of {SqlDialects.Known}.");
        }
    }

    public CheckSpec Spec { get; }

    public async Task<CheckVerdict> RunAsync(CheckContext context)
    {
        var (code, parse) = await SqlInput.ParseAsync(context, _dialect).ConfigureAwait(false);
        if (SqlInput.Unusable(code, parse, _dialect) is { } verdict)
        {
            return verdict;
        }

        var top = parse.Statements.Where(s => s.Inside is null).ToArray();
        if (top.Length == 0)
        {
            return CheckVerdict.Fail("The output holds no SQL statement (only comments or whitespace).", $"Answer with {(_dialect == SqlDialect.Generic ? "SQL" : _dialect.Display())} in a ```sql block.");
        }

        return new CheckVerdict(true, $"{top.Length} {parse.Dialect.Display()} statement(s): {string.Join(", ", top.Select(s => s.Kind))}{(parse.Note is null ? string.Empty : ". " + parse.Note)}",
            Details: Details(parse));
    }

    internal static string Details(SqlParse parse) => JsonSerializer.Serialize(new Dictionary<string, object?>
    {
        ["dialect"] = parse.Dialect.ToString(),
        ["statements"] = parse.Statements.Select(s => new Dictionary<string, object?>
        {
            ["statement"] = s.Number, ["line"] = s.Position.Line, ["column"] = s.Position.Column, ["kind"] = s.Kind, ["inside"] = s.Inside,
        }).ToArray(),
    });
}

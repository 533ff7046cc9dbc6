using System.Text.Json;
using LlmTasks.Verification.Sql;

namespace LlmTasks.Verification.Checks;

/// <summary>
/// SqlSafe: the SQL parses in the Dialect and no statement (nested ones included: inside IF, procedure
/// bodies, triggers, data-modifying WITH) breaks a rule in Refuse (default: Drop, Truncate, Alter, Grant,
/// Revoke, Deny, Dynamic, DeleteWithoutWhere, UpdateWithoutWhere). Decided from the parser's statements,
/// so words in strings and comments never count. Each broken rule is reported with the statement's
/// number, line and kind. SQL that does not parse fails: what it would do cannot be known.
/// </summary>
internal sealed class SqlSafeCheck : IOutputCheck
{
    private readonly SqlDialect _dialect;
    private readonly IReadOnlyList<string> _rules;

    public SqlSafeCheck(CheckSpec spec, Func<string, Exception> invalid)
    {
        Spec = spec;
        if (!SqlDialects.TryParse(spec.Dialect, out _dialect))
        {
            throw invalid($"Dialect '{spec.Dialect}' is not one of {SqlDialects.Known}.");
        }

        if (spec.Refuse is null)
        {
            _rules = SqlRules.Default;
            return;
        }

        _rules = SqlRules.Normalize(spec.Refuse, out var unknown);
        if (unknown.Count > 0)
        {
            throw invalid($"Refuse names unknown rule(s) {string.Join(", ", unknown.Select(u => $"'{u}'"))}. Known rules: {string.Join(", ", SqlRules.Known)}.");
        }

        if (_rules.Count == 0)
        {
            throw invalid($"Refuse is empty: name at least one rule ({string.Join(", ", SqlRules.Known)}), or leave Refuse out for the default ({string.Join(", ", SqlRules.Default)}).");
        }
    }

    public CheckSpec Spec { get; }

    public async Task<CheckVerdict> RunAsync(CheckContext context)
    {
        var (code, parse) = await SqlInput.ParseAsync(context, _dialect).ConfigureAwait(false);
        if (SqlInput.Unusable(code, parse, _dialect, ", so what it does cannot be checked") is { } verdict)
        {
            return verdict;
        }

        var broken = parse.Statements.Select(s => (Statement: s, Broken: SqlRules.Broken(s, _rules))).Where(x => x.Broken is not null).ToArray();
        if (broken.Length == 0)
        {
            return new CheckVerdict(true, $"{parse.Statements.Count(s => s.Inside is null)} {parse.Dialect.Display()} statement(s); none breaks {string.Join(", ", _rules)}",
                Details: SqlCheck.Details(parse));
        }

        var reason = $"{broken.Length} statement(s) break the SQL safety rules (read as {parse.Dialect.Display()}): " +
                     string.Join("; ", broken.Select(b => $"{b.Statement.Describe()}: {b.Broken!.Value.Problem}"));
        var details = JsonSerializer.Serialize(broken.Select(b => new Dictionary<string, object?>
        {
            ["statement"] = b.Statement.Number, ["line"] = b.Statement.Position.Line, ["column"] = b.Statement.Position.Column,
            ["kind"] = b.Statement.Kind, ["inside"] = b.Statement.Inside, ["rule"] = b.Broken!.Value.Rule,
        }).ToArray());
        return CheckVerdict.Fail(reason, "Leave out the refused statements (no " + string.Join(", ", broken.Select(b => b.Broken!.Value.Rule).Distinct()) +
                                         "); give every UPDATE and DELETE a WHERE that names the rows it changes.", details);
    }
}

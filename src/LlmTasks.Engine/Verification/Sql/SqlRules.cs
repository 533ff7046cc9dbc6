namespace LlmTasks.Verification.Sql;

/// <summary>
/// SqlSafe's rules, by name: a statement category (Drop, Truncate, Alter, Grant, Revoke, Deny, Dynamic,
/// Delete, Update, Insert, Merge, Create, Select, Other) refuses every statement of that kind;
/// DeleteWithoutWhere and UpdateWithoutWhere refuse a DELETE or UPDATE with no WHERE, or with a WHERE
/// that names no column (WHERE 1=1).
/// </summary>
internal static class SqlRules
{
    public const string DeleteWithoutWhere = "DeleteWithoutWhere";
    public const string UpdateWithoutWhere = "UpdateWithoutWhere";

    public static readonly IReadOnlyList<string> Default =
        ["Drop", "Truncate", "Alter", "Grant", "Revoke", "Deny", "Dynamic", DeleteWithoutWhere, UpdateWithoutWhere];

    public static IReadOnlyList<string> Known { get; } =
        [.. Enum.GetNames<SqlCategory>(), DeleteWithoutWhere, UpdateWithoutWhere];

    /// <summary>The rules named in a spec, in their canonical spelling; the unknown ones in <paramref name="unknown"/>.</summary>
    public static IReadOnlyList<string> Normalize(IEnumerable<string> names, out IReadOnlyList<string> unknown)
    {
        var rules = new List<string>();
        var bad = new List<string>();
        foreach (var name in names.SelectMany(n => n.Split([',', ' '], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)))
        {
            if (Known.FirstOrDefault(k => k.Equals(name, StringComparison.OrdinalIgnoreCase)) is { } known)
            {
                if (!rules.Contains(known))
                {
                    rules.Add(known);
                }
            }
            else
            {
                bad.Add(name);
            }
        }

        unknown = bad;
        return rules;
    }

    /// <summary>Which rule a statement breaks, and how to say it; null when it breaks none.</summary>
    public static (string Rule, string Problem)? Broken(SqlStatement statement, IReadOnlyList<string> rules)
    {
        var category = statement.Category.ToString();
        if (rules.Contains(category))
        {
            return (category, statement.Category == SqlCategory.Dynamic
                ? $"{statement.Kind} runs SQL or code that is not checked here ({category})"
                : $"{statement.Kind} is refused ({category})");
        }

        var rule = statement.Category switch
        {
            SqlCategory.Delete => DeleteWithoutWhere,
            SqlCategory.Update => UpdateWithoutWhere,
            _ => null,
        };
        if (rule is null || !rules.Contains(rule))
        {
            return null;
        }

        var verb = statement.Category == SqlCategory.Delete ? "deletes" : "updates";
        return statement.Where switch
        {
            SqlWhere.Missing => (rule, $"{statement.Kind} without WHERE {verb} every row ({rule})"),
            SqlWhere.NamesNoColumn => (rule, $"{statement.Kind} with a WHERE that names no column (such as WHERE 1=1) {verb} every row or none ({rule})"),
            _ => null,
        };
    }
}

namespace LlmTasks.Verification.Sql;

/// <summary>
/// The SQL dialect the Sql and SqlSafe checks parse with. Generic: the text must parse in at least one of
/// the real dialects (SQLite, then PostgreSQL, then T-SQL); the first that accepts it supplies the statements.
/// </summary>
internal enum SqlDialect
{
    Generic,
    TSql,
    Sqlite,
    PostgreSql,
}

internal static class SqlDialects
{
    private static readonly Dictionary<string, SqlDialect> Names = new(StringComparer.OrdinalIgnoreCase)
    {
        ["Generic"] = SqlDialect.Generic, ["Any"] = SqlDialect.Generic, ["Ansi"] = SqlDialect.Generic,
        ["TSql"] = SqlDialect.TSql, ["T-SQL"] = SqlDialect.TSql, ["SqlServer"] = SqlDialect.TSql, ["MsSql"] = SqlDialect.TSql,
        ["Sqlite"] = SqlDialect.Sqlite, ["Sqlite3"] = SqlDialect.Sqlite,
        ["PostgreSql"] = SqlDialect.PostgreSql, ["Postgres"] = SqlDialect.PostgreSql, ["Pg"] = SqlDialect.PostgreSql, ["PgSql"] = SqlDialect.PostgreSql,
    };

    public const string Known = "TSql, Sqlite, PostgreSql or Generic";

    public static bool TryParse(string? name, out SqlDialect dialect)
    {
        if (string.IsNullOrWhiteSpace(name))
        {
            dialect = SqlDialect.Generic;
            return true;
        }

        return Names.TryGetValue(name.Trim(), out dialect);
    }

    public static string Display(this SqlDialect dialect) => dialect switch
    {
        SqlDialect.TSql => "T-SQL",
        SqlDialect.Sqlite => "SQLite",
        SqlDialect.PostgreSql => "PostgreSQL",
        _ => "SQL of any supported dialect (SQLite, PostgreSQL, T-SQL)",
    };
}

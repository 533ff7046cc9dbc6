using LlmTasks.Verification.Tools;

namespace LlmTasks.Verification.Sql;

/// <summary>
/// Parses SQL in a dialect. Generic tries SQLite, PostgreSQL and T-SQL in turn and takes the first that
/// accepts the text; it fails only when every dialect rejects it (listing each one's first error), and
/// is unavailable when the dialects that could run rejected it and one could not run (no node).
/// </summary>
internal static class SqlParsers
{
    private static readonly SqlDialect[] GenericOrder = [SqlDialect.Sqlite, SqlDialect.PostgreSql, SqlDialect.TSql];

    public static async Task<SqlParse> ParseAsync(SqlDialect dialect, string sql, CheckToolOptions tools, CancellationToken cancellationToken)
    {
        if (dialect != SqlDialect.Generic)
        {
            return await ParseOneAsync(dialect, sql, tools, cancellationToken).ConfigureAwait(false);
        }

        var tried = new List<SqlParse>();
        foreach (var each in GenericOrder)
        {
            var parse = await ParseOneAsync(each, sql, tools, cancellationToken).ConfigureAwait(false);
            if (parse.Parsed)
            {
                return parse;
            }

            tried.Add(parse);
        }

        if (tried.FirstOrDefault(p => p.Unavailable is not null) is { } unavailable)
        {
            var rejected = string.Join("; ", tried.Where(p => p.Errors.Count > 0).Select(p => p.Errors[0] with { In = p.Dialect }));
            return SqlParse.NotAvailable(SqlDialect.Generic, $"no available dialect accepts it ({rejected}), and {unavailable.Dialect.Display()} could not be tried: {unavailable.Unavailable}");
        }

        return new SqlParse(SqlDialect.Generic, [], tried.SelectMany(p => p.Errors.Take(1).Select(e => e with { In = p.Dialect })).ToArray());
    }

    private static Task<SqlParse> ParseOneAsync(SqlDialect dialect, string sql, CheckToolOptions tools, CancellationToken cancellationToken) => dialect switch
    {
        SqlDialect.TSql => Task.FromResult(TSqlDialectParser.Parse(sql)),
        SqlDialect.Sqlite => Task.FromResult(SqliteDialectParser.Parse(sql)),
        SqlDialect.PostgreSql => PostgreSqlDialectParser.ParseAsync(sql, tools, cancellationToken),
        _ => throw new ArgumentOutOfRangeException(nameof(dialect)),
    };
}

using LlmTasks.Verification;
using static LlmTasks.Tests.Verification.CheckRunner;

namespace LlmTasks.Tests.Verification;

public sealed class SqlCheckTests
{
    private static CheckSpec Sql(string dialect) => new() { Type = "Sql", Dialect = dialect };

    [Theory]
    [InlineData("TSql")]
    [InlineData("Sqlite")]
    [InlineData("PostgreSql")]
    [InlineData("Generic")]
    public void A_misspelt_keyword_fails_in_every_dialect_with_its_position(string dialect)
    {
        var result = Fails("SELECT 1;\nSELEC name FROM users;", Sql(dialect));
        Assert.Contains("line 2, column 1", result.Reason);
        Assert.Contains("SELEC", result.Reason);
    }

    [Fact]
    public void TSql_reads_a_misspelt_first_keyword_as_a_procedure_call_and_the_check_says_so()
    {
        var reason = Fails("SELEC 1", Sql("TSql")).Reason!;
        Assert.Contains("line 1, column 1", reason);
        Assert.Contains("stored procedure", reason);
    }

    [Fact]
    public void Top_and_brackets_are_TSql_and_not_PostgreSql_or_Sqlite_syntax()
    {
        const string top = "SELECT TOP 5 [first name] FROM [dbo].[users] ORDER BY [id];";
        Passes(top, Sql("TSql"));
        Assert.Contains("line 1, column 12", Fails(top, Sql("PostgreSql")).Reason); // syntax error at or near "5"
        Fails(top, Sql("Sqlite"));
        Passes(top, Sql("Generic"));
    }

    [Fact]
    public void Limit_and_double_quoted_names_are_PostgreSql_and_Sqlite_and_not_TSql()
    {
        const string limit = "SELECT \"first name\" FROM users WHERE id > 3 LIMIT 10;";
        Passes(limit, Sql("PostgreSql"));
        Passes(limit, Sql("Sqlite"));
        var reason = Fails(limit, Sql("TSql")).Reason!;
        Assert.Contains("LIMIT", reason);
        Assert.Contains("line 1, column", reason);
    }

    [Fact]
    public void PostgreSql_casts_and_dollar_quotes_parse_only_as_PostgreSql()
    {
        const string pg = "SELECT $$it's; DROP TABLE x$$ AS note, amount::numeric FROM orders;";
        Passes(pg, Sql("PostgreSql"));
        Fails(pg, Sql("Sqlite"));
        Fails(pg, Sql("TSql"));
        Assert.Contains("PostgreSQL", Passes(pg, Sql("Generic")).Reason);
    }

    [Fact]
    public void Sqlite_names_missing_from_the_empty_database_are_not_syntax_errors()
    {
        var result = Passes("INSERT INTO people (name) VALUES ('Ada');\nSELECT nope FROM people JOIN pets ON pets.owner = people.id;\nDELETE FROM ghosts WHERE id = 1;", Sql("Sqlite"));
        Assert.Contains("3 SQLite statement(s): INSERT, SELECT, DELETE", result.Reason);
        Assert.Contains("no such column", result.Reason); // said, but not a failure
    }

    [Fact]
    public void Sqlite_reports_the_position_of_its_syntax_error_and_incomplete_input()
    {
        var reason = Fails("SELECT a,\n  b FROM t\n  WHERE a = = 1;", Sql("Sqlite")).Reason!;
        Assert.Contains("line 3, column 13", reason);
        Assert.Contains("near \"=\": syntax error", reason);
        Assert.Contains("incomplete input", Fails("SELECT (1 + 2", Sql("Sqlite")).Reason);
        Assert.Contains("unrecognized token", Fails("SELECT 'unterminated", Sql("Sqlite")).Reason);
    }

    [Fact]
    public void Sqlite_pragmas_are_parsed_but_never_take_effect()
    {
        var folder = Path.Combine(Path.GetTempPath(), "llmtasks-pragma-" + Guid.NewGuid().ToString("N"));
        Passes($"PRAGMA temp_store_directory = '{folder}';\nSELECT 1;", Sql("Sqlite"));
        Assert.False(Directory.Exists(folder));
        Fails("PRAGMA = 3;", Sql("Sqlite"));
    }

    [Fact]
    public void Keywords_in_literals_and_comments_never_break_the_parse()
    {
        const string sql = "-- SELEC FROM WHERE\nSELECT 'FORM ; SELEC' AS x /* DROP ; ) */ FROM t;";
        foreach (var dialect in new[] { "TSql", "Sqlite", "PostgreSql" })
        {
            Passes(sql, Sql(dialect));
        }
    }

    [Fact]
    public void The_first_fenced_sql_block_is_checked_and_positions_are_lines_of_the_output()
    {
        const string output = "Here is the query:\n\n```sql\nSELECT id\nFROM users\nWHER id = 1;\n```\nIt returns one row.";
        var reason = Fails(output, Sql("PostgreSql")).Reason!;
        Assert.Contains("line 6", reason); // "WHER" is read as an alias of users, so "id" on line 6 is the error
        Passes("Here:\n```sql\nSELECT id FROM users WHERE id = 1;\n```\nDone.", Sql("Sqlite"));
    }

    [Fact]
    public void Empty_output_and_comment_only_output_fail()
    {
        Assert.Contains("no SQL", Fails("  ", Sql("Sqlite")).Reason);
        Assert.Contains("no SQL statement", Fails("-- nothing here", Sql("Sqlite")).Reason);
        Assert.Contains("no SQL statement", Fails("/* nothing */", Sql("PostgreSql")).Reason);
    }

    [Fact]
    public void Generic_fails_only_when_every_dialect_rejects_the_text_and_lists_each()
    {
        var reason = Fails("SELECT * FORM users", Sql("Generic")).Reason!;
        Assert.Contains("SQLite:", reason);
        Assert.Contains("PostgreSQL:", reason);
        Assert.Contains("T-SQL:", reason);
    }

    [Fact]
    public void PostgreSql_without_node_is_unavailable_not_failed()
    {
        var services = new VerificationServices { Tools = new() { Node = "/nonexistent/node" } };
        var result = Run("SELECT 1;", Sql("PostgreSql"), services);
        Assert.False(result.Passed);
        Assert.True(result.Unavailable);
        Assert.Contains("/nonexistent/node", result.Reason);

        // Generic still decides with the dialects that can run, and is unavailable only when they all reject it.
        Assert.True(Run("SELECT 1;", Sql("Generic"), services).Passed);
        var pgOnly = Run("SELECT name FROM users WHERE name ILIKE 'a%';", Sql("Generic"), services);
        Assert.True(pgOnly.Unavailable, pgOnly.Reason);
    }

    [Fact]
    public void An_unknown_dialect_is_a_spec_error()
    {
        var error = SpecError(Sql("Oracle"));
        Assert.Equal(ErrorIds.InvalidVerification, error.ErrorId);
        Assert.Contains("Dialect 'Oracle' is not one of TSql, Sqlite, PostgreSql or Generic", error.Message);
    }
}

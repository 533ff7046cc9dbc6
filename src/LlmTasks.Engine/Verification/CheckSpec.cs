using System.Text.Json.Serialization;

namespace LlmTasks.Verification;

/// <summary>
/// One item of a verification spec, as plain values (no PowerShell types): the cmdlets turn
/// hashtables and script blocks into these. Stored with the task's request, so a restart or
/// another process can run the same checks. Which properties a Type uses: see <see cref="CheckFactory"/>.
/// </summary>
public sealed record CheckSpec
{
    /// <summary>NotEmpty, Json, JsonSchema, FieldPresent, Regex, Contains, NotContains, Length, Code, Python, Sql, SqlSafe, OpenApi, Judge, Contradiction or Script.</summary>
    public required string Type { get; init; }

    /// <summary>An optional label shown in results instead of the type.</summary>
    public string? Name { get; init; }

    /// <summary>JsonSchema: the schema as JSON text.</summary>
    public string? Schema { get; init; }

    /// <summary>FieldPresent: a dot/array path such as person.address[0].city.</summary>
    public string? Path { get; init; }

    /// <summary>FieldPresent: the value the field must have, as JSON text.</summary>
    public string? Value { get; init; }

    /// <summary>FieldPresent: false to require the field to be absent. Default true.</summary>
    public bool? Present { get; init; }

    /// <summary>Regex: the pattern.</summary>
    public string? Pattern { get; init; }

    /// <summary>Regex: RegexOptions names, comma separated (IgnoreCase, Multiline …).</summary>
    public string? Options { get; init; }

    /// <summary>Regex: the match timeout in milliseconds (default 1000).</summary>
    public int? TimeoutMs { get; init; }

    /// <summary>Contains / NotContains: the texts.</summary>
    public IReadOnlyList<string>? Text { get; init; }

    /// <summary>Contains / NotContains: compare case-sensitively (default false).</summary>
    public bool? CaseSensitive { get; init; }

    /// <summary>Length: the least characters (or words with <see cref="Words"/>).</summary>
    public int? Min { get; init; }

    /// <summary>Length: the most characters (or words with <see cref="Words"/>).</summary>
    public int? Max { get; init; }

    /// <summary>Length: count words instead of characters.</summary>
    public bool? Words { get; init; }

    /// <summary>Code: PowerShell, Json, or any other language (then a fenced block of it must be present).</summary>
    public string? Language { get; init; }

    /// <summary>Sql / SqlSafe: TSql, Sqlite, PostgreSql or Generic (the default: any of them).</summary>
    public string? Dialect { get; init; }

    /// <summary>SqlSafe: the rules (statement kinds) to refuse; null: Drop, Truncate, Alter, Grant, Revoke, Deny, Dynamic, DeleteWithoutWhere, UpdateWithoutWhere.</summary>
    public IReadOnlyList<string>? Refuse { get; init; }

    /// <summary>OpenApi: the version the document must be ('2.0', '3.0', '3.1', '3.2'); null: any.</summary>
    public string? Version { get; init; }

    /// <summary>Contradiction: a text taken as true that the answer must not contradict.</summary>
    public string? Reference { get; init; }

    /// <summary>Judge / Contradiction: the judging model (provider/model).</summary>
    public string? Model { get; init; }

    /// <summary>Judge: what a good answer is.</summary>
    public string? Criteria { get; init; }

    /// <summary>Judge: a full judge prompt with {OUTPUT} and {PROMPT} placeholders.</summary>
    public string? Prompt { get; init; }

    /// <summary>Judge / Contradiction: answer the judge call with this text, offline (as -MockResponse does for tasks).</summary>
    public string? MockResponse { get; init; }

    /// <summary>Script: the text of a PowerShell script block param($Output, $Task).</summary>
    public string? Script { get; init; }

    /// <summary>
    /// Script: true when the block came from the caller in this process, or with a stored request that carries this
    /// user's signature. Never stored: any other block read back from the store runs only when the user opts in.
    /// </summary>
    [JsonIgnore]
    public bool ScriptTrusted { get; init; }

    /// <summary>What results and errors call the check: its Name, else its Type.</summary>
    public string Label => string.IsNullOrWhiteSpace(Name) ? Type : Name!;
}

namespace LlmTasks.Verification.Tools;

/// <summary>
/// Where the Python and PostgreSQL checks find the programs they run: the Python interpreter (Python
/// check: <c>ast.parse</c>) and node (Sql check, PostgreSql dialect: PostgreSQL's own parser, libpg_query,
/// compiled to WebAssembly). The only place their environment variables are read. Paths never come from
/// a verification spec: a spec is stored with the task, and whoever can write the store must not choose
/// which program this process runs.
/// </summary>
public sealed record CheckToolOptions
{
    /// <summary>The Python interpreter to run, over python3 / python / py on PATH.</summary>
    public const string PythonVariable = "LLMTASKS_PYTHON";

    /// <summary>The node executable to run, over node on PATH.</summary>
    public const string NodeVariable = "LLMTASKS_NODE";

    /// <summary>The Python interpreter: a full path or a name looked up on PATH; null: $env:LLMTASKS_PYTHON (read at each check), else python3, python, py on PATH.</summary>
    public string? Python { get; init; }

    /// <summary>The node executable: a full path or a name looked up on PATH; null: $env:LLMTASKS_NODE (read at each check), else node on PATH.</summary>
    public string? Node { get; init; }

    /// <summary>The folder holding pg-parse.cjs, libpg-query.js and libpg-query.wasm; null: the pg folder beside the engine.</summary>
    public string? PostgreSqlParserFolder { get; init; }

    /// <summary>How long one parser run may take before the check gives up (it is then unavailable, not failed).</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>The interpreter to use now: <see cref="Python"/>, else $env:LLMTASKS_PYTHON; null: search PATH.</summary>
    internal string? PythonSetting => Python ?? Read(PythonVariable);

    /// <summary>The node to use now: <see cref="Node"/>, else $env:LLMTASKS_NODE; null: node on PATH.</summary>
    internal string? NodeSetting => Node ?? Read(NodeVariable);

    internal string ParserFolder => PostgreSqlParserFolder ?? Path.Combine(Path.GetDirectoryName(typeof(CheckToolOptions).Assembly.Location) ?? AppContext.BaseDirectory, "pg");

    private static string? Read(string name) => Configuration.EngineEnvironment.Process.Text(name);
}

namespace LlmTasks.Verification;

/// <summary>Parses code of a language the engine cannot parse itself (PowerShell: implemented by the module with the PowerShell parser).</summary>
public interface ICodeParser
{
    /// <summary>The parse errors (empty: it parses), or null when this parser does not know the language.</summary>
    IReadOnlyList<string>? ParseErrors(string language, string code);
}

/// <summary>
/// Runs a script-block check's text in a runspace the host owns (never the caller's runspace),
/// writing nothing to any pipeline. Returns (passed, reason).
/// </summary>
public interface IScriptCheckRunner
{
    Task<(bool Passed, string? Reason)> RunAsync(string script, string output, LlmTask? task, CancellationToken cancellationToken);
}

/// <summary>What the host plugs into verification. The PowerShell module sets <see cref="Default"/> on import.</summary>
public sealed record VerificationServices(ICodeParser? CodeParser = null, IScriptCheckRunner? ScriptRunner = null)
{
    /// <summary>Set to 1 to let this process run script-block checks read back from the store (off by default).</summary>
    public const string RunStoredScriptsVariable = "LLMTASKS_RUN_STORED_SCRIPTS";

    public static VerificationServices Default { get; set; } = new();

    /// <summary>Whether script blocks read from the store may run here; null: only when $env:LLMTASKS_RUN_STORED_SCRIPTS is 1 (read at each check).</summary>
    public bool? RunStoredScripts { get; init; }

    /// <summary>Where the Python and Sql (PostgreSql) checks find python and node; by default from $env:LLMTASKS_PYTHON / $env:LLMTASKS_NODE, else PATH.</summary>
    public Tools.CheckToolOptions Tools { get; init; } = new();

    internal bool MayRunStoredScripts => RunStoredScripts ?? Configuration.EngineEnvironment.Process.Text(RunStoredScriptsVariable) is "1" or "true" or "True";
}

using System.Text.Json;
using LlmTasks.Verification.Tools;

namespace LlmTasks.Verification.Checks;

/// <summary>
/// Python: the code (the first fenced python block, else an untagged one, else the whole output) parses
/// and compiles with a real Python interpreter: <c>ast.parse</c>, then <c>compile</c> of the tree (which
/// also finds 'return' outside a function and the like). Nothing is run. The interpreter is started
/// without a shell in isolated mode (-I) with a fixed script; the code goes to its stdin, never into an
/// argument. No interpreter: the check is unavailable (the task goes to NeedsReview), not failed.
/// </summary>
internal sealed class PythonCheck(CheckSpec spec) : IOutputCheck
{
    internal static readonly string[] Tags = ["python", "py", "python3"];

    /// <summary>The script the interpreter runs (-c): reads the code from stdin as bytes, writes one JSON line.</summary>
    private const string Script = """
        import ast, json, sys
        def out(d):
            d['version'] = sys.version.split()[0]
            sys.stdout.write(json.dumps(d))
            sys.stdout.flush()
            sys.exit(0)
        src = sys.stdin.buffer.read()
        try:
            tree = ast.parse(src, '<answer>')
            compile(tree, '<answer>', 'exec', dont_inherit=True)
        except SyntaxError as e:
            out({'ok': False, 'kind': type(e).__name__, 'message': e.msg, 'line': e.lineno, 'column': e.offset, 'text': (e.text or '').rstrip('\r\n')})
        except (ValueError, RecursionError, MemoryError, OverflowError) as e:
            out({'ok': False, 'kind': type(e).__name__, 'message': str(e) or type(e).__name__, 'line': None, 'column': None, 'text': None})
        out({'ok': True})
        """;

    public CheckSpec Spec => spec;

    public async Task<CheckVerdict> RunAsync(CheckContext context)
    {
        var code = FencedCode.Extract(context.Output, Tags);
        if (string.IsNullOrWhiteSpace(code.Code))
        {
            return CheckVerdict.Fail("The output holds no Python code.", "Answer with Python code in a ```python block.");
        }

        var tools = context.Environment.Services.Tools;
        var (interpreter, launcherArgs, tried) = FindInterpreter(tools.PythonSetting);
        if (interpreter is null)
        {
            return Unavailable($"No Python interpreter was found ({tried}). Install Python 3 or set ${CheckToolOptions.PythonVariable} to the interpreter's full path.");
        }

        var run = await ToolRun.RunAsync(interpreter, [.. launcherArgs, "-I", "-c", Script], code.Code, tools.Timeout, context.CancellationToken).ConfigureAwait(false);
        if (run.Problem is { } problem)
        {
            return Unavailable($"Python could not check the code: {problem}.");
        }

        JsonElement answer;
        try
        {
            using var document = JsonDocument.Parse(run.Stdout);
            answer = document.RootElement.Clone();
        }
        catch (JsonException)
        {
            return Unavailable($"'{interpreter}' did not run the Python check (exit code {run.ExitCode}): {ToolRun.Tail(run.Stderr.Length > 0 ? run.Stderr : run.Stdout)}");
        }

        var version = answer.TryGetProperty("version", out var v) ? v.GetString() : null;
        var details = new Dictionary<string, object?> { ["interpreter"] = interpreter, ["version"] = version, ["fenced"] = code.Fenced };
        if (answer.TryGetProperty("ok", out var ok) && ok.ValueKind == JsonValueKind.True)
        {
            return new CheckVerdict(true, $"parses with Python {version}", Details: JsonSerializer.Serialize(details));
        }

        var kind = answer.TryGetProperty("kind", out var k) ? k.GetString() : "SyntaxError";
        var message = answer.TryGetProperty("message", out var m) ? m.GetString() : null;
        var line = answer.TryGetProperty("line", out var l) && l.ValueKind == JsonValueKind.Number ? l.GetInt32() : (int?)null;
        var column = answer.TryGetProperty("column", out var c) && c.ValueKind == JsonValueKind.Number ? c.GetInt32() : (int?)null;
        var text = answer.TryGetProperty("text", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;
        details["kind"] = kind;
        details["message"] = message;
        details["line"] = line is { } n ? n + code.StartLine - 1 : null;
        details["column"] = column;
        var where = line is { } at ? $" at {code.Where(at, column ?? 1)}" : string.Empty;
        var shown = string.IsNullOrWhiteSpace(text) ? string.Empty : $" (in: {NotEmptyCheck.Shorten(text.Trim(), 120)})";
        return CheckVerdict.Fail($"The Python code does not parse{where}: {kind}: {message}{shown}",
            "Fix the Python syntax error named above; answer with the whole corrected code.", JsonSerializer.Serialize(details));
    }

    /// <summary>The configured interpreter, else python3, python, then the Windows launcher py (with -3).</summary>
    private static (string? Path, string[] Args, string Tried) FindInterpreter(string? configured)
    {
        if (configured is not null)
        {
            return (ToolRun.Find(configured), [], $"'{configured}' from ${CheckToolOptions.PythonVariable} or the options does not exist");
        }

        foreach (var (name, args) in new[] { ("python3", Array.Empty<string>()), ("python", []), ("py", ["-3"]) })
        {
            if (ToolRun.Find(name) is { } path)
            {
                return (path, args, string.Empty);
            }
        }

        return (null, [], "no python3, python or py on PATH");
    }

    private static CheckVerdict Unavailable(string reason) => new(false, reason, Unavailable: true);
}

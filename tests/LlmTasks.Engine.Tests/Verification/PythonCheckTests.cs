using System.Text.Json;
using LlmTasks.Verification;
using static LlmTasks.Tests.Verification.CheckRunner;

namespace LlmTasks.Tests.Verification;

public sealed class PythonCheckTests
{
    private static readonly CheckSpec Python = new() { Type = "Python" };

    [Fact]
    public void Code_that_parses_passes_and_names_the_interpreter_version()
    {
        var result = Passes("```python\ndef add(a, b):\n    return a + b\n\nprint(add(2, 3))\n```", Python);
        Assert.StartsWith("parses with Python 3.", result.Reason);
        Assert.Contains("\"interpreter\"", result.Details);
    }

    [Fact]
    public void A_syntax_error_names_line_column_and_message_in_the_output_s_lines()
    {
        var result = Fails("Here you go:\n\n```python\ndef add(a, b)\n    return a + b\n```", Python);
        Assert.Contains("line 4, column", result.Reason); // line 1 of the block is line 4 of the output
        Assert.Contains("SyntaxError", result.Reason);
        Assert.Contains("expected ':'", result.Reason);
        Assert.Equal(4, JsonDocument.Parse(result.Details!).RootElement.GetProperty("line").GetInt32());
    }

    [Fact]
    public void Indentation_errors_and_compile_time_errors_fail()
    {
        Assert.Contains("IndentationError", Fails("if True:\nprint('x')", Python).Reason);
        Assert.Contains("'return' outside function", Fails("return 5", Python).Reason);
    }

    [Fact]
    public void The_code_is_never_run_and_never_an_argument()
    {
        var marker = Path.Combine(Path.GetTempPath(), "llmtasks-python-" + Guid.NewGuid().ToString("N"));
        Passes($"open({JsonSerializer.Serialize(marker)}, 'w').write('ran')\nimport sys; sys.exit(3)", Python);
        Assert.False(File.Exists(marker));
        // Quotes, newlines and shell metacharacters arrive as they are (stdin), so this parses.
        Passes("x = \"$(rm -rf /) `id` ; | & > \\\" '\"\nprint(x)", Python);
    }

    [Fact]
    public void Words_in_strings_and_comments_do_not_matter()
    {
        Passes("# def broken(:\ns = 'def broken(:'\n", Python);
    }

    [Fact]
    public void A_missing_interpreter_is_unavailable_not_a_failed_answer()
    {
        var services = new VerificationServices { Tools = new() { Python = "/nonexistent/bin/python3" } };
        var result = Run("print('hi')", Python, services);
        Assert.False(result.Passed);
        Assert.True(result.Unavailable);
        Assert.Contains("/nonexistent/bin/python3", result.Reason);
        Assert.Contains("LLMTASKS_PYTHON", result.Reason);
    }

    [Fact]
    public void An_interpreter_that_does_not_answer_is_unavailable()
    {
        var services = new VerificationServices { Tools = new() { Python = "/bin/true" } };
        var result = Run("print('hi')", Python, services);
        Assert.True(result.Unavailable, result.Reason);
        Assert.Contains("did not run the Python check", result.Reason);
    }

    [Fact]
    public void No_code_fails()
    {
        Assert.Contains("no Python code", Fails("   ", Python).Reason);
    }
}

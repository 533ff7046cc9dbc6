using System.ComponentModel;
using System.Text;
using CliWrap;
using CliWrap.Buffered;

namespace LlmTasks.Verification.Tools;

/// <summary>
/// Runs a parser program (python, node) without a shell: a fixed argument list, the text to check on
/// stdin (never as an argument), stdout and stderr collected, killed after a timeout or on cancellation.
/// A program that cannot be started, times out, or answers with something other than the expected JSON
/// makes the check unavailable (the caller decides), never a failed answer.
/// </summary>
internal static class ToolRun
{
    public sealed record Result(bool Started, int ExitCode, string Stdout, string Stderr, string? Problem);

    public static async Task<Result> RunAsync(string executable, IReadOnlyList<string> arguments, string input, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(timeout);
        try
        {
            var result = await Cli.Wrap(executable)
                .WithArguments(arguments)
                .WithStandardInputPipe(PipeSource.FromString(input, Encoding.UTF8))
                .WithValidation(CommandResultValidation.None)
                .ExecuteBufferedAsync(Encoding.UTF8, Encoding.UTF8, limit.Token)
                .ConfigureAwait(false);
            return new Result(true, result.ExitCode, result.StandardOutput, result.StandardError, null);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return new Result(true, -1, string.Empty, string.Empty, $"'{executable}' did not finish within {timeout.TotalSeconds:0} s and was stopped");
        }
        catch (Win32Exception e)
        {
            return new Result(false, -1, string.Empty, string.Empty, $"'{executable}' could not be started: {e.Message}");
        }
        catch (InvalidOperationException e) when (!cancellationToken.IsCancellationRequested)
        {
            return new Result(false, -1, string.Empty, string.Empty, $"'{executable}' could not be started: {e.Message}");
        }
    }

    /// <summary>
    /// A program by path or name: a path (it has a directory part) must exist; a name is looked up on
    /// PATH (with .exe on Windows). Null when not found.
    /// </summary>
    public static string? Find(string nameOrPath)
    {
        if (nameOrPath.IndexOfAny(['/', '\\']) >= 0)
        {
            return File.Exists(nameOrPath) ? Path.GetFullPath(nameOrPath) : null;
        }

        var names = OperatingSystem.IsWindows() && !nameOrPath.EndsWith(".exe", StringComparison.OrdinalIgnoreCase) ? new[] { nameOrPath + ".exe" } : [nameOrPath];
        foreach (var folder in (Configuration.EngineEnvironment.Process.Raw("PATH") ?? string.Empty).Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            foreach (var name in names)
            {
                var path = Path.Combine(folder.Trim('"'), name);
                if (File.Exists(path))
                {
                    return path;
                }
            }
        }

        return null;
    }

    /// <summary>The last characters of a program's stderr, for messages.</summary>
    public static string Tail(string text, int max = 300)
    {
        var trimmed = text.Trim();
        return trimmed.Length <= max ? trimmed : "…" + trimmed[^max..];
    }
}

using System.Diagnostics;

namespace LlmTasks.PowerShell.Tests;

/// <summary>
/// Runs real pwsh (the pinned PowerShell tool, 7.6.9) as a separate process, with the built module
/// on PSModulePath so its cmdlets load as they would for a user who installed it. The tool's own
/// `pwsh` command is a shim that starts pwsh.dll as a child; this starts pwsh.dll itself, so a
/// kill reaches the engine and never leaves it running as an orphan.
/// </summary>
internal static class Pwsh
{
    public sealed record Result(int ExitCode, string Output, string Errors);

    /// <summary>Runs pwsh with these arguments (after -NoProfile -NonInteractive) and waits for it.</summary>
    public static Result Run(string[] arguments, IDictionary<string, string?>? environment = null, int timeoutSeconds = 120)
    {
        using var process = Start(arguments, environment);
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromSeconds(timeoutSeconds)))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"pwsh did not finish within {timeoutSeconds} s: {string.Join(' ', arguments)}");
        }

        return new Result(process.ExitCode, output.Result, errors.Result);
    }

    /// <summary>Starts pwsh without waiting (stdin closed, output redirected): for kill and concurrency tests.</summary>
    /// <param name="launcher">A command that execs pwsh in its place (ip netns exec …), so the process is still pwsh itself.</param>
    public static Process Start(string[] arguments, IDictionary<string, string?>? environment = null, string[]? launcher = null)
    {
        var start = new ProcessStartInfo(launcher is { Length: > 0 } ? launcher[0] : "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            WorkingDirectory = Repo.Root,
        };
        if (launcher is { Length: > 0 })
        {
            foreach (var part in launcher.Skip(1).Append("dotnet"))
            {
                start.ArgumentList.Add(part);
            }
        }

        start.ArgumentList.Add(Repo.PwshDll);
        start.ArgumentList.Add("-NoProfile");
        start.ArgumentList.Add("-NonInteractive");
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["PSModulePath"] = Repo.ModuleFolder + Path.PathSeparator + Environment.GetEnvironmentVariable("PSModulePath");
        start.Environment["NO_COLOR"] = "1"; // plain text, as a log or a CI step reads it
        start.Environment["POWERSHELL_TELEMETRY_OPTOUT"] = "1";
        start.Environment["POWERSHELL_UPDATECHECK"] = "Off";
        foreach (var (name, value) in environment ?? new Dictionary<string, string?>())
        {
            start.Environment[name] = value;
        }

        var process = Process.Start(start)!;
        process.StandardInput.Close();
        return process;
    }

    public static Result Command(string script, string storePath, int timeoutSeconds = 120, IDictionary<string, string?>? environment = null) =>
        Run(["-Command", script], WithStore(storePath, environment), timeoutSeconds);

    public static Result File(string scriptPath, IDictionary<string, string?>? environment = null, int timeoutSeconds = 120) =>
        Run(["-File", scriptPath], environment, timeoutSeconds);

    public static Dictionary<string, string?> WithStore(string storePath, IDictionary<string, string?>? environment = null)
    {
        var all = new Dictionary<string, string?>(environment ?? new Dictionary<string, string?>()) { ["LLMTASKS_STORE"] = storePath };
        return all;
    }
}

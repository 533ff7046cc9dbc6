using System.Diagnostics;

namespace LlmTasks.PowerShell.Tests;

/// <summary>Runs LlmTasks.Host (the real PowerShell engine with the module) as a separate process.</summary>
internal static class HostProcess
{
    public sealed record Result(int ExitCode, string Output, string Errors);

    public static Result Run(string[] arguments, IDictionary<string, string?>? environment = null, int timeoutSeconds = 120)
    {
        using var process = Start(arguments, environment);
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromSeconds(timeoutSeconds)))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"LlmTasks.Host did not finish within {timeoutSeconds} s: {string.Join(' ', arguments)}");
        }

        return new Result(process.ExitCode, output.Result, errors.Result);
    }

    /// <summary>Starts the host without waiting (stdin closed, output redirected): for kill and concurrency tests.</summary>
    public static Process Start(string[] arguments, IDictionary<string, string?>? environment = null)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            WorkingDirectory = Repo.Root,
        };
        start.ArgumentList.Add(Repo.HostDll);
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

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

    public static Dictionary<string, string?> WithStore(string storePath, IDictionary<string, string?>? environment = null)
    {
        var all = new Dictionary<string, string?>(environment ?? new Dictionary<string, string?>()) { ["LLMTASKS_STORE"] = storePath };
        return all;
    }
}

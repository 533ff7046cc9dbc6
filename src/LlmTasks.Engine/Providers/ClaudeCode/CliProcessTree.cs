using System.ComponentModel;
using System.Diagnostics;
using System.Runtime.InteropServices;

namespace LlmTasks.Providers.ClaudeCode;

/// <summary>
/// Makes the CLI's process tree die with the process that started it, however that process ends (kill -9 included), and
/// kills the whole tree when a call is stopped.
/// <list type="bullet">
/// <item>Linux: the CLI is exec'd (no shell) through util-linux's <c>setpriv --pdeathsig TERM</c> and coreutils'
/// <c>timeout --kill-after=5 0</c>: the kernel sends <c>timeout</c> SIGTERM when the thread that started it dies (the
/// <see cref="CliSpawner"/> thread, which lives as long as the process), and <c>timeout</c>, which runs the CLI in a process
/// group of its own, passes the signal to the whole group (the CLI, its MCP servers, the commands its tools run) and
/// SIGKILLs it 5 s later if the CLI is still there. Without both programs the CLI is started directly.</item>
/// <item>Windows: the CLI is put in a job object that kills its processes when this process's handle to it closes.</item>
/// <item>Elsewhere (macOS): nothing at start; a recovering process kills what its record names (<see cref="CliLeftovers"/>).</item>
/// </list>
/// Every CLI also carries <see cref="RunVariable"/> in its environment (its children inherit it), so a recovering process can
/// find what a killed one left (<see cref="CliLeftovers"/>).
/// </summary>
internal static class CliProcessTree
{
    /// <summary>The variable that marks every process of one CLI run: its run id.</summary>
    public const string RunVariable = "LLMTASKS_CLI_RUN";

    private const int SigKill = 9;
    private static readonly Lazy<(string SetPriv, string Timeout)?> Wrapper = new(FindWrapper);

    /// <summary>What this platform does so the tree dies with its starter, for messages and docs.</summary>
    public static string Guarantee =>
        OperatingSystem.IsWindows() ? "a job object that kills it when this process ends"
        : Wrapper.Value is not null ? "a parent-death signal (setpriv --pdeathsig) passed to its process group (timeout)"
        : "nothing at start (no setpriv and timeout here); a recovering process kills what it left";

    /// <summary>The program and arguments that start the CLI; Wrapped when it runs under the Linux wrapper (its pid is then the wrapper's, and the leader of the tree's process group).</summary>
    public static (string Program, IReadOnlyList<string> Arguments, bool Wrapped) Command(string executable, IReadOnlyList<string> arguments)
    {
        if (Wrapper.Value is not { } wrapper)
        {
            return (executable, arguments, false);
        }

        return (wrapper.SetPriv, ["--pdeathsig", "TERM", "--", wrapper.Timeout, "--kill-after=5", "0", executable, .. arguments], true);
    }

    /// <summary>After the start: on Windows the CLI goes into the process's kill-on-close job.</summary>
    public static void Started(int processId)
    {
        if (OperatingSystem.IsWindows())
        {
            WindowsJob.Assign(processId);
        }
    }

    /// <summary>True when the wrapper could not run the CLI at all (timeout's own exit codes 126 and 127, and its message).</summary>
    public static bool ExecFailed(bool wrapped, int exitCode, string stdout, string stderr) =>
        wrapped && exitCode is 126 or 127 && stdout.Length == 0 && stderr.Contains("failed to run command", StringComparison.Ordinal);

    /// <summary>Kills the tree under the process (its descendants by parent), then, under the wrapper, what is left of its process group.</summary>
    public static void Kill(int processId, bool wrapped)
    {
        try
        {
            using var process = Process.GetProcessById(processId);
            process.Kill(entireProcessTree: true);
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or Win32Exception or NotSupportedException)
        {
            // already gone
        }

        if (wrapped && !OperatingSystem.IsWindows())
        {
            // Children that were reparented (a daemonizing MCP server) are no longer below it, but still in its group. The group id
            // is never reused as a process id while the group has members, so this reaches only the tree's own processes.
            _ = KillProcess(-processId, SigKill);
        }
    }

    /// <summary>SIGKILL to one process (Unix).</summary>
    public static void KillNow(int processId)
    {
        if (!OperatingSystem.IsWindows())
        {
            _ = KillProcess(processId, SigKill);
        }
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int KillProcess(int pid, int signal);

    private static (string SetPriv, string Timeout)? FindWrapper()
    {
        if (!OperatingSystem.IsLinux())
        {
            return null;
        }

        static string? Find(string name) => new[] { "/usr/bin/" + name, "/bin/" + name }.FirstOrDefault(File.Exists);
        if (Find("setpriv") is not { } setpriv || Find("timeout") is not { } timeout)
        {
            return null;
        }

        // util-linux before 2.33 has no --pdeathsig: try the pair once, exactly as a CLI run uses it.
        try
        {
            var probe = new ProcessStartInfo(setpriv) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
            foreach (var argument in new[] { "--pdeathsig", "TERM", "--", timeout, "--kill-after=5", "0", "true" })
            {
                probe.ArgumentList.Add(argument);
            }

            using var process = Process.Start(probe)!;
            return process.WaitForExit(10_000) && process.ExitCode == 0 ? (setpriv, timeout) : null;
        }
        catch (Exception e) when (e is Win32Exception or InvalidOperationException)
        {
            return null;
        }
    }
}

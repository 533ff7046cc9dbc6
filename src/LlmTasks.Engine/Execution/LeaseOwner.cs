using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;

namespace LlmTasks.Execution;

/// <summary>
/// Who holds a task's lease, as written in <c>lease_owner</c>: <c>host:pid:start:random</c>. The host
/// names the machine (in a Linux container with a PID namespace of its own, also that namespace: its
/// pids mean nothing outside it); start is when the process began, as the OS keeps it (on Linux the
/// clock ticks since boot from /proc, unaffected by clock changes; elsewhere UTC milliseconds), so a
/// reused pid is never mistaken for the owner; the random part tells the managers of one process apart.
/// Owners written by earlier versions (<c>host:pid:random</c>) parse without a start time.
/// </summary>
public sealed class LeaseOwner
{
    private const long StartToleranceMs = 1000; // Process.StartTime off Linux: jitter of a few ms between readers
    private static readonly ConcurrentDictionary<string, byte> KnownGone = new(StringComparer.Ordinal);
    private static readonly Lazy<(string Host, bool CanCheck)> Machine = new(ReadMachine);

    private LeaseOwner(string text, string host, int processId, long? start)
    {
        Text = text;
        Host = host;
        ProcessId = processId;
        Start = start;
    }

    /// <summary>The owner string as stored.</summary>
    public string Text { get; }

    /// <summary>The machine part (with the PID namespace, in a container that has its own).</summary>
    public string Host { get; }

    public int ProcessId { get; }

    /// <summary>The process's start as its OS keeps it; null for owners written by earlier versions.</summary>
    public long? Start { get; }

    /// <summary>The machine's name alone, for messages.</summary>
    public string MachineName => Host.Split('/')[0];

    /// <summary>True when the owner runs on this machine (and in this PID namespace): its liveness can be checked here.</summary>
    public bool IsThisMachine => Machine.Value.CanCheck && string.Equals(Host, Machine.Value.Host, StringComparison.OrdinalIgnoreCase);

    /// <summary>A new owner string for a manager of this process.</summary>
    internal static string ForThisProcess() =>
        string.Join(':', Machine.Value.Host, Environment.ProcessId.ToString(CultureInfo.InvariantCulture),
            (StartOf(Environment.ProcessId) ?? 0).ToString(CultureInfo.InvariantCulture), Guid.NewGuid().ToString("N")[..8]);

    /// <summary>Reads an owner string; null when it is not one (null, empty, or another shape).</summary>
    public static LeaseOwner? Parse(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return null;
        }

        var parts = text.Split(':');
        if (parts.Length >= 4
            && int.TryParse(parts[^3], NumberStyles.None, CultureInfo.InvariantCulture, out var pid)
            && long.TryParse(parts[^2], NumberStyles.None, CultureInfo.InvariantCulture, out var start))
        {
            return new LeaseOwner(text, string.Join(':', parts[..^3]), pid, start == 0 ? null : start);
        }

        if (parts.Length >= 3 && int.TryParse(parts[^2], NumberStyles.None, CultureInfo.InvariantCulture, out var oldPid))
        {
            return new LeaseOwner(text, string.Join(':', parts[..^2]), oldPid, null);
        }

        return null;
    }

    /// <summary>
    /// True only when the owner certainly runs no more: it was on this machine and no process with its
    /// pid (and start time) exists, or that process is a zombie. Anything uncertain (another machine,
    /// a process this user may not inspect) counts as alive: its lease decides.
    /// </summary>
    public bool IsGone()
    {
        if (!IsThisMachine)
        {
            return false;
        }

        if (KnownGone.ContainsKey(Text))
        {
            return true; // a process that ended does not come back
        }

        var gone = CheckGone();
        if (gone)
        {
            KnownGone.TryAdd(Text, 0);
        }

        return gone;
    }

    private bool CheckGone()
    {
        if (ProcessId == Environment.ProcessId)
        {
            return Start is { } mine && StartOf(ProcessId) is { } now && !SameStart(mine, now);
        }

        if (OperatingSystem.IsLinux())
        {
            var stat = LinuxStat(ProcessId);
            if (stat is null)
            {
                return !Directory.Exists($"/proc/{ProcessId}"); // unreadable but present: another user's, alive
            }

            return stat.Value.State is 'Z' or 'X' || (Start is { } start && start != stat.Value.StartTicks);
        }

        try
        {
            using var process = Process.GetProcessById(ProcessId);
            if (process.HasExited)
            {
                return true;
            }

            return Start is { } start && !SameStart(start, new DateTimeOffset(process.StartTime.ToUniversalTime()).ToUnixTimeMilliseconds());
        }
        catch (ArgumentException)
        {
            return true; // no process with that id
        }
        catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception or NotSupportedException or UnauthorizedAccessException)
        {
            return false; // cannot tell: leave it to the lease
        }
    }

    private static bool SameStart(long a, long b) =>
        OperatingSystem.IsLinux() ? a == b : Math.Abs(a - b) <= StartToleranceMs;

    /// <summary>A process's start as this OS keeps it (see the class remarks), or null when it cannot be read.</summary>
    private static long? StartOf(int pid)
    {
        if (OperatingSystem.IsLinux())
        {
            return LinuxStat(pid)?.StartTicks;
        }

        try
        {
            using var process = Process.GetProcessById(pid);
            return new DateTimeOffset(process.StartTime.ToUniversalTime()).ToUnixTimeMilliseconds();
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception or NotSupportedException)
        {
            return null;
        }
    }

    /// <summary>/proc/pid/stat: the state letter (field 3) and the start time in clock ticks since boot (field 22).</summary>
    private static (char State, long StartTicks)? LinuxStat(int pid)
    {
        string text;
        try
        {
            text = File.ReadAllText($"/proc/{pid}/stat");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }

        // "pid (comm) state ppid …": comm may hold spaces and parentheses, so count from the last ')'.
        var close = text.LastIndexOf(')');
        if (close < 0)
        {
            return null;
        }

        var fields = text[(close + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return fields.Length > 19 && fields[0].Length == 1 && long.TryParse(fields[19], NumberStyles.None, CultureInfo.InvariantCulture, out var ticks)
            ? (fields[0][0], ticks)
            : null;
    }

    /// <summary>
    /// This machine's host part. In a Linux PID namespace other than the first one (a container), the
    /// namespace's inode is added: containers that share a host name do not share pids. When the
    /// namespace cannot be read, liveness is not checked at all (leases decide, as on another machine).
    /// </summary>
    private static (string Host, bool CanCheck) ReadMachine()
    {
        var name = Environment.MachineName.Replace(':', '-');
        if (!OperatingSystem.IsLinux())
        {
            return (name, true);
        }

        try
        {
            const long InitialPidNamespace = 0xEFFFFFFC; // PROC_PID_INIT_INO
            var target = new FileInfo("/proc/self/ns/pid").LinkTarget; // "pid:[4026531836]"
            var open = target?.IndexOf('[') ?? -1;
            if (target is null || open < 0 || !long.TryParse(target[(open + 1)..].TrimEnd(']'), NumberStyles.None, CultureInfo.InvariantCulture, out var inode))
            {
                return (name, false);
            }

            // /proc must show other processes (not mounted hidepid): else a live process would look gone.
            var canCheck = LinuxStat(Environment.ProcessId) is not null && Directory.Exists("/proc/1");
            return (inode == InitialPidNamespace ? name : $"{name}/{inode}", canCheck);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return (name, false);
        }
    }

    /// <summary>"process 1234 on host" (or the stored text when it is not an owner string).</summary>
    public static string Describe(string? owner) => Parse(owner) is { } parsed ? parsed.ToString() : owner ?? "no process";

    public override string ToString() => $"process {ProcessId} on {MachineName}";
}

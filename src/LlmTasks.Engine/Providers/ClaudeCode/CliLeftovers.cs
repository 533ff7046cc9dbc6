using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using LlmTasks.Execution;

namespace LlmTasks.Providers.ClaudeCode;

/// <summary>
/// Cleans up after CLI runs whose process is gone (killed, or crashed): for every record (<see cref="CliRunRecord"/>) whose
/// owner is on this machine and certainly no longer running (<see cref="LeaseOwner.IsGone"/>: its pid is gone or belongs to a
/// newer process), it kills the run's processes that are still alive (on Linux every process whose environment carries the
/// run's <see cref="CliProcessTree.RunVariable"/>; elsewhere the started process, if it is the same one, with its tree), then
/// deletes the run's MCP config file and work folder and the record. Records of live processes are left alone. It runs when
/// a process starts its first CLI, and when a wait or worker takes tasks over from a process that is gone.
/// </summary>
internal static class CliLeftovers
{
    private static int _sweptOnce;

    /// <summary>The first CLI run of a process cleans up first (once).</summary>
    public static void SweepOnce()
    {
        if (Interlocked.Exchange(ref _sweptOnce, 1) == 0)
        {
            Sweep();
        }
    }

    /// <summary>Cleans up after every run whose process is gone; returns how many runs it cleaned up.</summary>
    public static int Sweep()
    {
        if (CliRunRecord.Folder is not { } folder || !Directory.Exists(folder))
        {
            return 0;
        }

        var dead = new List<(string File, JsonObject Record)>();
        foreach (var file in Directory.EnumerateFiles(folder, "*.json"))
        {
            try
            {
                if (JsonNode.Parse(File.ReadAllText(file)) is JsonObject record
                    && record["owner"]?.GetValue<string>() is { } owner && owner != CliRunRecord.ThisProcess
                    && LeaseOwner.Parse(owner) is { } parsed && parsed.IsGone())
                {
                    dead.Add((file, record));
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Text.Json.JsonException or InvalidOperationException)
            {
                // half-written or unreadable: a later sweep sees it again
            }
        }

        if (dead.Count == 0)
        {
            return 0;
        }

        KillRuns(dead.Select(d => d.Record).ToList());
        foreach (var (file, record) in dead)
        {
            DeleteFile(record["mcp"]?.GetValue<string>(), CliRunRecord.McpPrefix);
            DeleteFolder(record["folder"]?.GetValue<string>());
            try
            {
                File.Delete(file);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
            }
        }

        return dead.Count;
    }

    private static void KillRuns(IReadOnlyList<JsonObject> runs)
    {
        if (OperatingSystem.IsLinux() && Directory.Exists("/proc/self"))
        {
            var markers = runs.Select(r => Encoding.ASCII.GetBytes($"{CliProcessTree.RunVariable}={r["run"]?.GetValue<string>()}")).ToList();
            foreach (var entry in Directory.EnumerateDirectories("/proc"))
            {
                if (!int.TryParse(Path.GetFileName(entry), out var pid) || pid == Environment.ProcessId)
                {
                    continue;
                }

                byte[] environment;
                try
                {
                    environment = File.ReadAllBytes(Path.Combine(entry, "environ"));
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    continue; // gone, or another user's
                }

                if (markers.Any(marker => Carries(environment, marker)))
                {
                    CliProcessTree.KillNow(pid);
                }
            }

            return;
        }

        foreach (var run in runs)
        {
            if (run["pid"]?.GetValue<int>() is not { } pid || run["started"]?.GetValue<long>() is not { } started)
            {
                continue;
            }

            try
            {
                using var process = Process.GetProcessById(pid);
                var start = new DateTimeOffset(process.StartTime.ToUniversalTime()).ToUnixTimeMilliseconds();
                if (Math.Abs(start - started) <= 1000)
                {
                    process.Kill(entireProcessTree: true); // the same process (a reused pid starts later)
                }
            }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception or NotSupportedException)
            {
                // gone
            }
        }
    }

    /// <summary>True when the NUL-separated environment block holds exactly this NAME=value entry.</summary>
    private static bool Carries(byte[] environment, byte[] entry)
    {
        var span = environment.AsSpan();
        for (var at = span.IndexOf(entry); at >= 0; at = NextIndex(span, entry, at))
        {
            var end = at + entry.Length;
            if ((at == 0 || span[at - 1] == 0) && (end == span.Length || span[end] == 0))
            {
                return true;
            }
        }

        return false;
    }

    private static int NextIndex(ReadOnlySpan<byte> span, byte[] entry, int after)
    {
        var next = span[(after + 1)..].IndexOf(entry);
        return next < 0 ? -1 : after + 1 + next;
    }

    /// <summary>Deletes a file the record names, only if it is one of the module's own (by name), and not a link.</summary>
    private static void DeleteFile(string? path, string prefix)
    {
        if (path is null || !Path.IsPathRooted(path) || !Path.GetFileName(path).StartsWith(prefix, StringComparison.Ordinal))
        {
            return;
        }

        try
        {
            var info = new FileInfo(path);
            if (info.Exists && info.LinkTarget is null)
            {
                info.Delete();
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
    }

    /// <summary>Deletes the run's own work folder (by name: llmtasks-claude-&lt;run id&gt;), never a folder a task named.</summary>
    private static void DeleteFolder(string? path)
    {
        if (path is null || !Path.IsPathRooted(path) || !Path.GetFileName(path).StartsWith(CliRunRecord.WorkPrefix, StringComparison.Ordinal))
        {
            return;
        }

        try
        {
            var info = new DirectoryInfo(path);
            if (info.Exists && info.LinkTarget is null)
            {
                info.Delete(recursive: true);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
    }
}

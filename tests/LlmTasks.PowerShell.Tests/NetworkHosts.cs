using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace LlmTasks.PowerShell.Tests;

/// <summary>
/// Hosts as network namespaces (root only): each gets a veth link to this machine, <c>10.N.i.2/24</c> on its side and
/// <c>10.N.i.1/24</c> on this machine's, with a default route through it, so every host reaches every address this
/// machine has on the links (<see cref="ServerAddress"/> is the first: servers listen there). Processes started with
/// <see cref="Launcher"/> also get a host name of their own (a UTS namespace), so a lease owner there names another
/// machine. Names carry this process's id; Dispose removes the namespaces and links (and a new set first removes any
/// left by a test process that is gone).
/// </summary>
internal sealed partial class NetworkHosts : IDisposable
{
    private const string Prefix = "ltn";
    private readonly List<string> _namespaces = [];
    private readonly List<string> _links = [];
    private readonly string _tag;

    public NetworkHosts(int count)
    {
        RemoveAbandoned();
        _tag = Prefix + ToBase36(Environment.ProcessId) + Guid.NewGuid().ToString("N")[..2];
        var net = 100 + Random.Shared.Next(100); // 10.N.0.0/16: one /24 per host
        try
        {
            for (var i = 0; i < count; i++)
            {
                var ns = $"{_tag}n{i}";
                var here = $"{_tag}h{i}";
                var there = $"{_tag}p{i}";
                Ip("netns", "add", ns);
                _namespaces.Add(ns);
                Ip("link", "add", here, "type", "veth", "peer", "name", there);
                _links.Add(here);
                Ip("link", "set", there, "netns", ns);
                Ip("addr", "add", $"10.{net}.{i}.1/24", "dev", here);
                Ip("link", "set", here, "up");
                Ip("netns", "exec", ns, "ip", "link", "set", "lo", "up");
                Ip("netns", "exec", ns, "ip", "addr", "add", $"10.{net}.{i}.2/24", "dev", there);
                Ip("netns", "exec", ns, "ip", "link", "set", there, "up");
                Ip("netns", "exec", ns, "ip", "route", "add", "default", "via", $"10.{net}.{i}.1");
                Addresses.Add($"10.{net}.{i}.1");
            }
        }
        catch
        {
            Dispose();
            throw;
        }

        Subnet = $"10.{net}.0.0/16";
    }

    public static bool CanRun => Environment.UserName == "root" && (File.Exists("/usr/sbin/ip") || File.Exists("/sbin/ip")) && File.Exists("/usr/bin/unshare");

    /// <summary>This machine's side of each link.</summary>
    public List<string> Addresses { get; } = [];

    /// <summary>The address every host reaches this machine at (the first link's, routed to from the others).</summary>
    public string ServerAddress => Addresses[0];

    /// <summary>Every host's address, for a server's allow list.</summary>
    public string Subnet { get; private set; } = string.Empty;

    /// <summary>What starts a process as host <paramref name="index"/>: in its namespace, with its own host name.</summary>
    public string[] Launcher(int index) =>
        ["ip", "netns", "exec", _namespaces[index], "unshare", "--uts", "--", "sh", "-c", $"hostname {HostName(index)} && exec \"$@\"", "sh"];

    public static string HostName(int index) => $"llmhost{index}";

    public void Dispose()
    {
        foreach (var ns in _namespaces)
        {
            Try("netns", "delete", ns); // its end of the link goes with it, and so the pair
        }

        foreach (var link in _links)
        {
            Try("link", "delete", link);
        }

        _namespaces.Clear();
        _links.Clear();
    }

    /// <summary>Namespaces and links of test processes that died before their Dispose.</summary>
    private static void RemoveAbandoned()
    {
        foreach (var ns in Output("netns", "list").Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(' ')[0]))
        {
            if (Tagged().Match(ns) is { Success: true } m && !Alive(m.Groups["pid"].Value))
            {
                Try("netns", "delete", ns);
            }
        }

        foreach (var link in Regex.Matches(Output("-o", "link", "show"), @"^\d+: (?<name>[^:@\s]+)", RegexOptions.Multiline).Select(m => m.Groups["name"].Value))
        {
            if (Tagged().Match(link) is { Success: true } m && !Alive(m.Groups["pid"].Value))
            {
                Try("link", "delete", link);
            }
        }
    }

    private static bool Alive(string base36)
    {
        var pid = base36.Aggregate(0L, (n, c) => n * 36 + (char.IsDigit(c) ? c - '0' : c - 'a' + 10));
        return Directory.Exists($"/proc/{pid}");
    }

    private static string ToBase36(int value)
    {
        var digits = string.Empty;
        do
        {
            digits = "0123456789abcdefghijklmnopqrstuvwxyz"[value % 36] + digits;
            value /= 36;
        }
        while (value > 0);
        return digits;
    }

    [GeneratedRegex("^ltn(?<pid>[0-9a-z]+)[0-9a-f]{2}[nhp][0-9]+$")]
    private static partial Regex Tagged();

    private static void Ip(params string[] arguments)
    {
        var (code, _, errors) = RunIp(arguments);
        if (code != 0)
        {
            throw new InvalidOperationException($"ip {string.Join(' ', arguments)} failed ({code}): {errors}");
        }
    }

    private static void Try(params string[] arguments) => RunIp(arguments);

    private static string Output(params string[] arguments) => RunIp(arguments).Output;

    private static (int Code, string Output, string Errors) RunIp(string[] arguments)
    {
        var start = new ProcessStartInfo("ip") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in arguments)
        {
            start.ArgumentList.Add(a);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEnd();
        if (!process.WaitForExit(TimeSpan.FromSeconds(30)))
        {
            process.Kill();
            return (-1, string.Empty, "timed out");
        }

        return (process.ExitCode, output.Result, errors);
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{_namespaces.Count} hosts ({_tag}*) on {Subnet}");
}

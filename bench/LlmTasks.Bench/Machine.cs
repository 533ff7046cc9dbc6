using System.Runtime.InteropServices;

namespace LlmTasks.Bench;

/// <summary>What the numbers were measured on.</summary>
internal static class Machine
{
    public static string LoadAverage()
    {
        try
        {
            var parts = File.ReadAllText("/proc/loadavg").Split(' ');
            return $"{parts[0]} {parts[1]} {parts[2]}";
        }
        catch (IOException)
        {
            return "n/a";
        }
    }

    public static IEnumerable<(string, string)> Describe()
    {
        yield return ("CPU", $"{Cpu()} — {Environment.ProcessorCount} logical cores");
        yield return ("Memory", MemoryTotal());
        yield return ("OS", RuntimeInformation.OSDescription + " " + RuntimeInformation.OSArchitecture);
        yield return (".NET", RuntimeInformation.FrameworkDescription + " (" + (System.Runtime.GCSettings.IsServerGC ? "server" : "workstation") + " GC)");
        yield return ("PowerShell", "System.Management.Automation " + typeof(System.Management.Automation.PowerShell).Assembly.GetName().Version + " hosted in-process");
    }

    private static string Cpu()
    {
        try
        {
            var line = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal));
            return line is null ? RuntimeInformation.ProcessArchitecture.ToString() : line[(line.IndexOf(':') + 1)..].Trim();
        }
        catch (IOException)
        {
            return RuntimeInformation.ProcessArchitecture.ToString();
        }
    }

    private static string MemoryTotal()
    {
        var bytes = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        return $"{bytes / (1024.0 * 1024 * 1024):0.0} GiB";
    }
}

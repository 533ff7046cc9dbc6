using System.Reflection;

namespace LlmTasks.PowerShell.Tests;

/// <summary>Paths of the built artefacts the tests use.</summary>
internal static class Repo
{
    public static string Root { get; } = FindRoot();

    public static string Configuration { get; } = typeof(Repo).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
        .First(a => a.Key == "Configuration").Value!;

    public static string ModuleManifest => Path.Combine(Root, "out", "LlmTasks", "LlmTasks.psd1");

    public static string HostDll => Path.Combine(Root, "src", "LlmTasks.Host", "bin", Configuration, "net10.0", "LlmTasks.Host.dll");

    private static string FindRoot()
    {
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            if (File.Exists(Path.Combine(folder.FullName, "Engine.sln")))
            {
                return folder.FullName;
            }
        }

        throw new InvalidOperationException("Cannot find the repository root (Engine.sln) above " + AppContext.BaseDirectory);
    }
}

using System.Reflection;

namespace LlmTasks.PowerShell.Tests;

/// <summary>Paths of the built artefacts the tests use.</summary>
internal static class Repo
{
    public static string Root { get; } = FindRoot();

    public static string Configuration { get; } = typeof(Repo).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
        .First(a => a.Key == "Configuration").Value!;

    public static string ModuleManifest => Path.Combine(Root, "out", "LlmTasks", "LlmTasks.psd1");

    /// <summary>The folder that holds the built module (out/LlmTasks): put on PSModulePath, its cmdlets autoload.</summary>
    public static string ModuleFolder => Path.Combine(Root, "out");

    /// <summary>NuGet's package folder, as restore used it (the pinned PowerShell tool and Pester live there).</summary>
    public static string PackageRoot { get; } = typeof(Repo).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
        .First(a => a.Key == "NuGetPackageRoot").Value!;

    /// <summary>pwsh.dll of the pinned PowerShell tool (.config/dotnet-tools.json), started with `dotnet` directly (not the tool's shim).</summary>
    public static string PwshDll { get; } = Required(Path.Combine(PackageRoot, "powershell", "7.6.9", "tools", "net10.0", "any",
        OperatingSystem.IsWindows() ? "win" : "unix", "pwsh.dll"), "run `dotnet tool restore` in the repository (the build does it)");

    /// <summary>Pester 5.7.1's module manifest (the package's tools/ folder), downloaded by this project's restore.</summary>
    public static string PesterManifest { get; } = Required(Path.Combine(PackageRoot, "pester", "5.7.1", "tools", "Pester.psd1"),
        "restore this test project (PackageDownload Pester 5.7.1)");

    /// <summary>The embedding host program (tests/LlmTasks.EmbeddedHost), built with this project, started with `dotnet`.</summary>
    public static string EmbeddedHostDll => Required(Path.Combine(Root, "tests", "LlmTasks.EmbeddedHost", "bin", Configuration, "net10.0", "LlmTasks.EmbeddedHost.dll"),
        "build tests/LlmTasks.EmbeddedHost (the test project references it)");

    private static string Required(string path, string fix) =>
        File.Exists(path) ? path : throw new InvalidOperationException($"{path} is missing: {fix}.");

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

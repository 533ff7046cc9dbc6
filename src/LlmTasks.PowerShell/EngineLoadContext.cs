using System.Reflection;
using System.Runtime.Loader;

namespace LlmTasks.PowerShell;

/// <summary>
/// Loads LlmTasks.Engine and its dependencies (Microsoft.Data.Sqlite with its native library,
/// Microsoft.Extensions.AI, System.Text.Json …) from the module's deps/ folder into a context of
/// their own, so they never clash with the versions PowerShell or other modules load. Only the
/// engine assembly is handed to the default context; everything it needs resolves in here, except a
/// library the running .NET itself ships at the same or a newer version (System.Text.Json on .NET 10):
/// that one comes from the shared framework, which is precompiled (ReadyToRun), where the NuGet copy in
/// deps/ is IL that every process would compile again as it warms up. Nothing PowerShell or another module
/// loaded can stand in for it: only the framework's own files are considered.
/// <para>
/// Rule for public types of this assembly (cmdlets, completers): no field or auto-property of an
/// engine <em>value</em> type (enum, struct). Import-Module lists this assembly's exported types
/// before it runs <see cref="ModuleLifetime.OnImport"/>, and laying out a class with such a field
/// needs the engine before this resolver exists. Engine reference types (and arrays of enums) are fine.
/// </para>
/// </summary>
internal sealed class EngineLoadContext : AssemblyLoadContext
{
    private const string EngineName = "LlmTasks.Engine";
    private static readonly object Lock = new();
    private static EngineLoadContext? _instance;
    private static bool _registered;
    /// <summary>The folder of the running .NET's own libraries.</summary>
    private static readonly string FrameworkFolder = System.Runtime.InteropServices.RuntimeEnvironment.GetRuntimeDirectory();
    private readonly AssemblyDependencyResolver _resolver;

    private EngineLoadContext(string enginePath)
        : base("LlmTasks.Engine", isCollectible: false)
    {
        _resolver = new AssemblyDependencyResolver(enginePath);
    }

    public static string DependencyFolder { get; } =
        Path.Combine(Path.GetDirectoryName(typeof(EngineLoadContext).Assembly.Location)!, "deps");

    public static void Register()
    {
        lock (Lock)
        {
            if (_registered)
            {
                return;
            }

            Default.Resolving += ResolveEngine;
            _registered = true;
        }
    }

    private static Assembly? ResolveEngine(AssemblyLoadContext context, AssemblyName name)
    {
        if (!string.Equals(name.Name, EngineName, StringComparison.Ordinal))
        {
            return null;
        }

        lock (Lock)
        {
            _instance ??= new EngineLoadContext(Path.Combine(DependencyFolder, EngineName + ".dll"));
        }

        return _instance.LoadFromAssemblyName(name);
    }

    protected override Assembly? Load(AssemblyName assemblyName)
    {
        // Framework assemblies are not in the engine's deps.json, and a package the framework ships no older is
        // served by it: null sends both to the default context, which loads them from the shared framework.
        var path = _resolver.ResolveAssemblyToPath(assemblyName);
        return path is null || FrameworkShipsNoOlder(path) ? null : LoadFromAssemblyPath(path);
    }

    /// <summary>True when the shared framework has this file's library at its version or a newer one.</summary>
    internal static bool FrameworkShipsNoOlder(string depsPath, string? frameworkFolder = null)
    {
        var framework = Path.Combine(frameworkFolder ?? FrameworkFolder, Path.GetFileName(depsPath));
        if (!File.Exists(framework))
        {
            return false;
        }

        try
        {
            return AssemblyName.GetAssemblyName(framework).Version >= AssemblyName.GetAssemblyName(depsPath).Version;
        }
        catch (Exception e) when (e is BadImageFormatException or IOException)
        {
            return false; // not a readable assembly: the module's own copy is the safe choice
        }
    }

    protected override IntPtr LoadUnmanagedDll(string unmanagedDllName)
    {
        var path = _resolver.ResolveUnmanagedDllToPath(unmanagedDllName);
        return path is null ? IntPtr.Zero : LoadUnmanagedDllFromPath(path);
    }
}

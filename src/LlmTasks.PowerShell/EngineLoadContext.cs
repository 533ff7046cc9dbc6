using System.Reflection;
using System.Runtime.Loader;

namespace LlmTasks.PowerShell;

/// <summary>
/// Loads LlmTasks.Engine and its dependencies (Microsoft.Data.Sqlite with its native library,
/// Microsoft.Extensions.AI, System.Text.Json …) from the module's deps/ folder into a context of
/// their own, so they never clash with the versions PowerShell or other modules load. Only the
/// engine assembly is handed to the default context; everything it needs resolves in here.
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
        // Framework assemblies are not in the engine's deps.json: null sends them to the default context.
        var path = _resolver.ResolveAssemblyToPath(assemblyName);
        return path is null ? null : LoadFromAssemblyPath(path);
    }

    protected override IntPtr LoadUnmanagedDll(string unmanagedDllName)
    {
        var path = _resolver.ResolveUnmanagedDllToPath(unmanagedDllName);
        return path is null ? IntPtr.Zero : LoadUnmanagedDllFromPath(path);
    }
}

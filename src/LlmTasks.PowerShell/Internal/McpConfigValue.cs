using System.Management.Automation;

namespace LlmTasks.PowerShell.Internal;

/// <summary>
/// An MCP configuration given as a path (kept as a full path, read when the task runs) or as a
/// hashtable / JSON text (kept as JSON), in the provider options the max/* provider reads.
/// </summary>
internal static class McpConfigValue
{
    public static ProviderOptions ToOption(object value, string parameterName, Func<string, string> resolvePath)
    {
        value = value is PSObject wrapped ? wrapped.BaseObject : value;
        return value is string path && !path.TrimStart().StartsWith('{')
            ? new ProviderOptions { McpConfigPath = resolvePath(path) }
            : new ProviderOptions { McpConfigJson = PowerShellJson.FromValue(value, parameterName, resolvePath) };
    }
}

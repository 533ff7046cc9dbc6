using System.Collections;
using System.Management.Automation;
using LlmTasks.Storage;

namespace LlmTasks.PowerShell.Completers;

/// <summary>
/// Reads completion values from the store a command line names (or the default one): a read-only peek
/// at the store (<see cref="StorePeek"/>), never a task manager, so pressing Tab creates nothing, claims
/// nothing and runs nothing. A relative -StorePath is resolved against PowerShell's current location.
/// </summary>
internal static class StoreCompletion
{
    public static IReadOnlyList<string> Values(string commandName, IDictionary fakeBoundParameters, Func<StoreReference, IReadOnlyList<string>> read)
    {
        try
        {
            var given = fakeBoundParameters["StorePath"] as string ?? DefaultStorePath(commandName);
            return read(StoreLocation.Resolve(string.IsNullOrWhiteSpace(given) ? null : given, FromCurrentLocation));
        }
        catch (Exception e) when (e is LlmTasksException or IOException or UnauthorizedAccessException or PSInvalidOperationException or RuntimeException)
        {
            return []; // completion must never fail the command line
        }
    }

    /// <summary>A path as the cmdlet will read it: relative to $PWD (the session's location, not the process's folder), ~ and PSDrives resolved.</summary>
    private static string FromCurrentLocation(string path)
    {
        // Completers run on the pipeline thread of the session that asks, so a script block sees its location.
        var resolved = ScriptBlock.Create("$ExecutionContext.SessionState.Path.GetUnresolvedProviderPathFromPSPath($args[0])").Invoke(path);
        return resolved.Count == 1 && resolved[0]?.BaseObject is string full ? full : path;
    }

    /// <summary>-StorePath as $PSDefaultParameterValues sets it for this command ('*-Llm*:StorePath' and the like).</summary>
    private static string? DefaultStorePath(string commandName)
    {
        var value = ScriptBlock.Create("$PSDefaultParameterValues").InvokeReturnAsIs();
        if ((value is PSObject wrapped ? wrapped.BaseObject : value) is not IDictionary defaults)
        {
            return null;
        }

        foreach (DictionaryEntry entry in defaults)
        {
            var key = entry.Key?.ToString() ?? string.Empty;
            var colon = key.LastIndexOf(':');
            if (colon > 0
                && string.Equals(key[(colon + 1)..].Trim(), "StorePath", StringComparison.OrdinalIgnoreCase)
                && new WildcardPattern(key[..colon].Trim(), WildcardOptions.IgnoreCase).IsMatch(commandName))
            {
                return LanguagePrimitives.ConvertTo<string>(entry.Value);
            }
        }

        return null;
    }

    public static CompletionResult Result(string value, string? tooltip = null)
    {
        var text = value.IndexOfAny([' ', '\'', '"', '$', '`', ';', '(', ')', '{', '}', '@', '#']) >= 0
            ? "'" + value.Replace("'", "''") + "'"
            : value;
        return new CompletionResult(text, value, CompletionResultType.ParameterValue, tooltip ?? value);
    }
}

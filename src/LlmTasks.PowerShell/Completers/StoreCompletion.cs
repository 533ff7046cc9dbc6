using System.Collections;
using System.Management.Automation;
using LlmTasks.Execution;
using LlmTasks.Storage;

namespace LlmTasks.PowerShell.Completers;

/// <summary>Reads completion values from the store a command line names (or the default one), never creating a store.</summary>
internal static class StoreCompletion
{
    public static IReadOnlyList<string> Values(string commandName, IDictionary fakeBoundParameters, Func<TaskStore, IReadOnlyList<string>> read)
    {
        try
        {
            var explicitPath = fakeBoundParameters["StorePath"] as string ?? DefaultStorePath(commandName);
            var path = StoreLocation.Resolve(explicitPath);
            return File.Exists(path) ? read(TaskManagers.Get(path).Store) : [];
        }
        catch (Exception e) when (e is LlmTasksException or IOException or UnauthorizedAccessException or PSInvalidOperationException)
        {
            return []; // completion must never fail the command line
        }
    }

    /// <summary>-StorePath as $PSDefaultParameterValues sets it for this command ('*-Llm*:StorePath' and the like).</summary>
    private static string? DefaultStorePath(string commandName)
    {
        // Completers run on the pipeline thread of the session that asks, so a script block reads its variables.
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

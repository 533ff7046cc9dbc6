using System.Collections;
using System.Management.Automation;
using LlmTasks.Execution;
using LlmTasks.Storage;

namespace LlmTasks.PowerShell.Completers;

/// <summary>Reads completion values from the store a command line names (or the default one), never creating a store.</summary>
internal static class StoreCompletion
{
    public static IReadOnlyList<string> Values(IDictionary fakeBoundParameters, Func<TaskStore, IReadOnlyList<string>> read)
    {
        try
        {
            var explicitPath = fakeBoundParameters["StorePath"] as string;
            var path = StoreLocation.Resolve(explicitPath);
            return File.Exists(path) ? read(TaskManagers.Get(path).Store) : [];
        }
        catch (Exception e) when (e is LlmTasksException or IOException or UnauthorizedAccessException)
        {
            return []; // completion must never fail the command line
        }
    }

    public static CompletionResult Result(string value, string? tooltip = null)
    {
        var text = value.IndexOfAny([' ', '\'', '"', '$', '`', ';', '(', ')', '{', '}', '@', '#']) >= 0
            ? "'" + value.Replace("'", "''") + "'"
            : value;
        return new CompletionResult(text, value, CompletionResultType.ParameterValue, tooltip ?? value);
    }
}

using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;
using LlmTasks.Storage;

namespace LlmTasks.PowerShell.Completers;

/// <summary>Completes -Name with the task names in the store (names only, read without opening the store for work).</summary>
public sealed class TaskNameCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        var prefix = wordToComplete.Trim('\'', '"');
        return StoreCompletion.Values(commandName, fakeBoundParameters, path => StorePeek.DistinctNames(path, prefix))
            .Select(name => StoreCompletion.Result(name));
    }
}

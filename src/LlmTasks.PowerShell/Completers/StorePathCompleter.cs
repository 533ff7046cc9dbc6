using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;

namespace LlmTasks.PowerShell.Completers;

/// <summary>
/// Completes -StorePath with PowerShell's own file-name completion (relative to $PWD, quoting, PSDrives),
/// leaving out the files that belong to a store without being one (the file backend's side files). It lists
/// files only: no store is opened, and a URI or connection string is not completed.
/// </summary>
public sealed class StorePathCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters) =>
        wordToComplete.Length > 0 && !Storage.StoreLocation.IsFilePath(wordToComplete.Trim('\'', '"'))
            ? []
            : CompletionCompleters.CompleteFilename(wordToComplete).Where(r => !Storage.StoreBackends.Default.IsSideFile(r.ListItemText));
}

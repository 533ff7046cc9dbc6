using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;

namespace LlmTasks.PowerShell.Completers;

/// <summary>
/// Completes -StorePath with PowerShell's own file-name completion (relative to $PWD, quoting, PSDrives),
/// leaving out SQLite's side files (-wal, -shm, -journal), which are never a store of their own. It lists
/// files only: no store is opened.
/// </summary>
public sealed class StorePathCompleter : IArgumentCompleter
{
    private static readonly string[] SideFiles = ["-wal", "-shm", "-journal"];

    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters) =>
        CompletionCompleters.CompleteFilename(wordToComplete)
            .Where(r => !SideFiles.Any(side => r.ListItemText.EndsWith(side, StringComparison.OrdinalIgnoreCase)));
}

using System.Management.Automation.Language;
using LlmTasks.Verification;

namespace LlmTasks.PowerShell.Internal;

/// <summary>The Code check's PowerShell parser: the real PowerShell language parser, no code runs.</summary>
internal sealed class PowerShellCodeParser : ICodeParser
{
    public IReadOnlyList<string>? ParseErrors(string language, string code)
    {
        if (!string.Equals(language, "PowerShell", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        Parser.ParseInput(code, out _, out var errors);
        return errors.Select(e => $"line {e.Extent.StartLineNumber}, column {e.Extent.StartColumnNumber}: {e.Message}").ToArray();
    }
}

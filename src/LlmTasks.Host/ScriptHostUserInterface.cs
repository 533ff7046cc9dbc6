using System.Collections.ObjectModel;
using System.Management.Automation;
using System.Management.Automation.Host;
using System.Security;

namespace LlmTasks.Host;

/// <summary>Output to stdout, errors and warnings to stderr, no prompts (the host is for scripts).</summary>
internal sealed class ScriptHostUserInterface : PSHostUserInterface
{
    private readonly ScriptHostRawUserInterface _raw = new();

    public override PSHostRawUserInterface RawUI => _raw;

    public override bool SupportsVirtualTerminal => !Console.IsOutputRedirected;

    public override void Write(string value) => Console.Out.Write(Styled(value));

    public override void Write(ConsoleColor foregroundColor, ConsoleColor backgroundColor, string value) => Console.Out.Write(Styled(value));

    public override void WriteLine(string value) => Console.Out.WriteLine(Styled(value));

    public override void WriteErrorLine(string value) => Console.Error.WriteLine(GetOutputString(value, !Console.IsErrorRedirected));

    // $PSStyle.OutputRendering decides; escape sequences are dropped where the output is not a terminal.
    private string Styled(string value) => GetOutputString(value, SupportsVirtualTerminal);

    public override void WriteWarningLine(string message) => Console.Error.WriteLine("WARNING: " + message);

    public override void WriteVerboseLine(string message) => Console.Error.WriteLine("VERBOSE: " + message);

    public override void WriteDebugLine(string message) => Console.Error.WriteLine("DEBUG: " + message);

    public override void WriteProgress(long sourceId, ProgressRecord record)
    {
        // Scripts run unattended here: progress is not drawn.
    }

    public override string ReadLine() => throw NotInteractive();

    public override SecureString ReadLineAsSecureString() => throw NotInteractive();

    public override Dictionary<string, PSObject> Prompt(string caption, string message, Collection<FieldDescription> descriptions) => throw NotInteractive();

    public override int PromptForChoice(string caption, string message, Collection<ChoiceDescription> choices, int defaultChoice) => throw NotInteractive();

    public override PSCredential PromptForCredential(string caption, string message, string userName, string targetName) => throw NotInteractive();

    public override PSCredential PromptForCredential(string caption, string message, string userName, string targetName,
        PSCredentialTypes allowedCredentialTypes, PSCredentialUIOptions options) => throw NotInteractive();

    private static PSInvalidOperationException NotInteractive() =>
        new("LlmTasks.Host runs scripts unattended and cannot prompt. Pass the values as parameters (and -Confirm:$false).");
}

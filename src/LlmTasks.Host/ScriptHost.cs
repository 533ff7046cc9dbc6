using System.Globalization;
using System.Management.Automation.Host;

namespace LlmTasks.Host;

/// <summary>A non-interactive PowerShell host that writes to the console.</summary>
internal sealed class ScriptHost : PSHost
{
    private readonly ScriptHostUserInterface _ui = new();

    public int? ExitCode { get; private set; }

    public override string Name => "LlmTasks.Host";
    public override Version Version => typeof(ScriptHost).Assembly.GetName().Version ?? new Version(0, 1);
    public override Guid InstanceId { get; } = Guid.NewGuid();
    public override PSHostUserInterface UI => _ui;
    public override CultureInfo CurrentCulture => CultureInfo.CurrentCulture;
    public override CultureInfo CurrentUICulture => CultureInfo.CurrentUICulture;

    public override void SetShouldExit(int exitCode) => ExitCode = exitCode;

    public override void EnterNestedPrompt() => throw new NotSupportedException("LlmTasks.Host has no interactive prompt.");

    public override void ExitNestedPrompt() => throw new NotSupportedException("LlmTasks.Host has no interactive prompt.");

    public override void NotifyBeginApplication()
    {
    }

    public override void NotifyEndApplication()
    {
    }
}

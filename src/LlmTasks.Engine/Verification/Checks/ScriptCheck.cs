namespace LlmTasks.Verification.Checks;

/// <summary>
/// A script block param($Output, $Task), run by the host's <see cref="IScriptCheckRunner"/> in a runspace
/// the module owns. A block read back from the store (another process picked the task up, or it was
/// restarted) runs when its request carries this user's signature (it is the user's own: see
/// Security.RequestSignature), or when the user opted in to unsigned blocks ($env:LLMTASKS_RUN_STORED_SCRIPTS = 1):
/// anyone who can write the store file could otherwise make this process run code. Otherwise the check is
/// unavailable and the task goes to NeedsReview.
/// </summary>
internal sealed class ScriptCheck : IOutputCheck
{
    public ScriptCheck(CheckSpec spec, Func<string, Exception> invalid)
    {
        Spec = spec;
        if (string.IsNullOrWhiteSpace(spec.Script))
        {
            throw invalid("the script block is empty.");
        }
    }

    public CheckSpec Spec { get; }

    public async Task<CheckVerdict> RunAsync(CheckContext context)
    {
        var services = context.Environment.Services;
        if (!Spec.ScriptTrusted && !services.MayRunStoredScripts)
        {
            return new CheckVerdict(false,
                $"The script block check was read from the store without this user's signature and is not run here (set $env:{VerificationServices.RunStoredScriptsVariable} = 1 in this process to allow unsigned blocks).",
                Unavailable: true);
        }

        if (services.ScriptRunner is not { } runner)
        {
            return new CheckVerdict(false, "Script block checks run only inside the LlmTasks PowerShell module.", Unavailable: true);
        }

        var (passed, reason) = await runner.RunAsync(Spec.Script!, context.Output, context.Task, context.CancellationToken).ConfigureAwait(false);
        return passed ? CheckVerdict.Pass(reason) : CheckVerdict.Fail(reason ?? "The script block returned $false.", "Change the answer so the check passes.");
    }
}

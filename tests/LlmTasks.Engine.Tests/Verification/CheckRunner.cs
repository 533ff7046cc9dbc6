using LlmTasks.Providers;
using LlmTasks.Verification;

namespace LlmTasks.Tests.Verification;

/// <summary>Runs one check on one output, as Invoke-LlmVerification does, with the given services.</summary>
internal static class CheckRunner
{
    private static readonly ProviderRegistry Providers = ProviderRegistry.CreateDefault();

    public static LlmCheckResult Run(string output, CheckSpec spec, VerificationServices? services = null) =>
        Assert.Single(new Verifier([spec], Providers, services ?? new VerificationServices()).VerifyAsync(output, null, false, CancellationToken.None).GetAwaiter().GetResult().Checks);

    public static LlmCheckResult Passes(string output, CheckSpec spec, VerificationServices? services = null)
    {
        var result = Run(output, spec, services);
        Assert.True(result.Passed, $"{spec.Type} should pass on: {output}\nbut: {result.Reason}");
        Assert.False(result.Unavailable);
        return result;
    }

    public static LlmCheckResult Fails(string output, CheckSpec spec, VerificationServices? services = null)
    {
        var result = Run(output, spec, services);
        Assert.False(result.Passed, $"{spec.Type} should fail on: {output}\n({result.Reason})");
        Assert.False(result.Unavailable, $"{spec.Type} should fail, not be unavailable: {result.Reason}");
        return result;
    }

    public static LlmTasksException SpecError(CheckSpec spec) =>
        Assert.Throws<LlmTasksException>(() => CheckFactory.Validate([spec], Providers));
}

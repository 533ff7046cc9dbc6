namespace LlmTasks.Verification.Checks;

/// <summary>Json: the output (or its first fenced json block) parses as JSON; a failure names the position.</summary>
internal sealed class JsonCheck(CheckSpec spec) : IOutputCheck
{
    public CheckSpec Spec => spec;

    public Task<CheckVerdict> RunAsync(CheckContext context) => Task.FromResult(
        JsonText.TryParse(context.Output, out _, out var problem)
            ? CheckVerdict.Pass()
            : CheckVerdict.Fail(problem!, "Answer with valid JSON only (no prose around it, no trailing commas, double-quoted names)."));
}

namespace LlmTasks.HelpGen;

/// <summary>Why the help cannot be built; written in MSBuild's error format so the build shows file and line.</summary>
internal sealed record HelpProblem(string File, int Line, string Message)
{
    public const string Code = "LLMHELP";

    public override string ToString() =>
        Line > 0 ? $"{File}({Line}): error {Code}: {Message}" : $"{File}: error {Code}: {Message}";
}

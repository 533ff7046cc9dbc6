namespace LlmTasks.Execution.Pipeline;

/// <summary>Where a call's text goes while it streams in: the task's partial output, the -Stream viewers.</summary>
internal interface ICallOutput
{
    /// <summary>A try begins: whatever an earlier try streamed is no longer the answer.</summary>
    void TryStarted(int tryNumber);

    /// <summary>A piece of the answer, as it arrived.</summary>
    void Append(string text);
}

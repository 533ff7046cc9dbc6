namespace LlmTasks.Providers;

/// <summary>What a provider may use to build the client for one call: the task's request and its in-memory secrets.</summary>
public sealed record ProviderCallContext(long TaskId, LlmTaskRequest Request, TaskSecrets? Secrets)
{
    public override string ToString() => $"ProviderCallContext {{ TaskId = {TaskId}, Model = {Request.Model} }}";
}

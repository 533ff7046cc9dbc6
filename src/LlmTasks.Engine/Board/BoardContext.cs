using LlmTasks.Execution;
using LlmTasks.Storage;

namespace LlmTasks.Board;

/// <summary>What every page and action of one board reads: its store (through the store's task manager) and its options.</summary>
internal sealed record BoardContext(TaskManager Manager, BoardOptions Options)
{
    public ITaskStore Store => Manager.Store;

    public TimeProvider Time => Manager.Time;
}

using System.Management.Automation;
using LlmTasks.PowerShell.Internal;
using LlmTasks.Storage;

namespace LlmTasks.PowerShell.Commands;

/// <summary>
/// The provider batches of a store (tasks started with Start-LlmTask -AsBatch), oldest first: the provider's batch
/// id, state, request counts, when it was created, sent, expires and ended, and the cost of its answers. By batch id
/// (-Id), state (-State), the newest n (-Newest), or the batches of piped tasks. Reads only: it runs nothing.
/// </summary>
[Cmdlet(VerbsCommon.Get, "LlmTaskBatch", DefaultParameterSetName = IdSet)]
[OutputType(typeof(LlmBatch))]
public sealed class GetLlmTaskBatchCommand : LlmTaskCommandBase
{
    private const string IdSet = "Id";
    private const string TaskSet = "Task";

    private readonly List<(Execution.TaskManager Manager, long Id)> _ofTasks = [];

    /// <summary>Batch ids (Get-LlmTaskBatch's Id, LlmTask's BatchId); none: every batch.</summary>
    [Parameter(Position = 0, ParameterSetName = IdSet)]
    [ValidateNotNullOrEmpty]
    public long[]? Id { get; set; }

    /// <summary>Tasks (task objects, deserialized ones, rows with an InstanceId or Id, task ids): the batches they are in.</summary>
    [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = TaskSet)]
    public PSObject? Task { get; set; }

    /// <summary>Only batches in these states.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public LlmBatchState[]? State { get; set; }

    /// <summary>Only the newest n batches (of those selected).</summary>
    [Parameter(ParameterSetName = IdSet)]
    [ValidateRange(1, int.MaxValue)]
    public int Newest { get; set; }

    protected override void ProcessRecord()
    {
        try
        {
            if (ParameterSetName == IdSet)
            {
                var manager = Manager();
                WriteObject(manager.Store.GetBatches(new BatchQuery
                {
                    Ids = Id,
                    States = State,
                    Newest = MyInvocation.BoundParameters.ContainsKey(nameof(Newest)) ? Newest : null,
                }), enumerateCollection: true);
            }
            else
            {
                OfTask(Task);
            }
        }
        catch (LlmTasksException e)
        {
            WriteError(e);
        }

        FlushEngineEvents();
    }

    private void OfTask(PSObject? input)
    {
        if (TaskReferences.Read(input, out var problem) is not { } reference)
        {
            WriteError(ErrorRecords.Create(ErrorRecords.InputNotTask, ErrorCategory.InvalidArgument,
                $"Get-LlmTaskBatch reads the batches of tasks, and {problem}. Pipe tasks (Get-LlmTask … | Get-LlmTaskBatch), or give batch ids with -Id.", input));
            return;
        }

        var path = TaskReferences.StorePath(reference, ResolveStore);
        var manager = path is null ? Manager() : Manager(path);
        if (TaskReferences.Find(manager, reference) is not { } task)
        {
            WriteError(ErrorRecords.Create(ErrorRecords.NotFound, ErrorCategory.ObjectNotFound,
                $"No task with {reference.Describe()} in the store '{manager.StorePath}'.", input));
            return;
        }

        if (task.BatchId is { } batch && !_ofTasks.Contains((manager, batch)))
        {
            _ofTasks.Add((manager, batch)); // each batch once, in the order its first task came
        }
    }

    protected override void EndProcessing()
    {
        foreach (var group in _ofTasks.GroupBy(b => b.Manager))
        {
            var ids = group.Select(b => b.Id).ToList();
            try
            {
                var batches = group.Key.Store.GetBatches(new BatchQuery { Ids = ids, States = State }).ToDictionary(b => b.Id);
                WriteObject(ids.Where(batches.ContainsKey).Select(id => batches[id]), enumerateCollection: true);
            }
            catch (LlmTasksException e)
            {
                WriteError(e);
            }
        }

        FlushEngineEvents();
    }
}

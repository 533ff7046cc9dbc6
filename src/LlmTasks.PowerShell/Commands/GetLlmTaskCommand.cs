using System.Management.Automation;
using LlmTasks.PowerShell.Internal;
using LlmTasks.Storage;

namespace LlmTasks.PowerShell.Commands;

/// <summary>
/// Gets tasks from the store as they are now, oldest first. Without arguments: every task. As Get-Job:
/// Get-LlmTask 5 gets task 5, Get-LlmTask nightly* gets tasks by name. -State, -Model, -Newest, -After
/// and -Before narrow any selection, piped tasks and rows included.
/// </summary>
[Cmdlet(VerbsCommon.Get, "LlmTask", DefaultParameterSetName = IdSet)]
[OutputType(typeof(LlmTask))]
public sealed class GetLlmTaskCommand : TaskSelectionCommandBase
{
    /// <summary>Ids of tasks; none: every task (narrowed by the filters).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true, ParameterSetName = IdSet)]
    [ValidateNotNullOrEmpty] // an empty variable is refused, as Get-Job -Id refuses it, not read as "every task"
    public new long[] Id
    {
        get => base.Id;
        set => base.Id = value;
    }

    [Parameter]
    [ValidateNotNullOrEmpty] // Get-LlmTask -State $none | Remove-LlmTask must not mean every task
    public LlmTaskState[] State { get; set; } = [];

    /// <summary>Only tasks of these models (provider/model; wildcards).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(Completers.ModelCompleter))]
    public string[] Model { get; set; } = [];

    /// <summary>Only the newest N tasks that match (still written oldest first).</summary>
    [Parameter]
    [ValidateRange(1, int.MaxValue)]
    public int Newest { get; set; }

    /// <summary>Tasks created after this time.</summary>
    [Parameter]
    public DateTime After { get; set; }

    /// <summary>Tasks created before this time.</summary>
    [Parameter]
    public DateTime Before { get; set; }

    protected override void ProcessRecord()
    {
        var bound = MyInvocation.BoundParameters;
        var filter = new TaskQuery
        {
            States = State,
            Models = Model,
            Newest = bound.ContainsKey(nameof(Newest)) ? Newest : null,
            After = bound.ContainsKey(nameof(After)) ? After : null,
            Before = bound.ContainsKey(nameof(Before)) ? Before : null,
        };
        var filtered = State.Length > 0 || Model.Length > 0 || filter.Newest is not null || filter.After is not null || filter.Before is not null;

        try
        {
            if (ParameterSetName == IdSet && Id.Length == 0)
            {
                var manager = Manager();
                WriteObject(TaskObjects.WithChecks(manager, manager.Store.Query(filter)), enumerateCollection: true);
                FlushEngineEvents();
                return;
            }

            foreach (var (manager, tasks) in SelectTasks(filtered ? filter : null))
            {
                WriteObject(TaskObjects.WithChecks(manager, tasks), enumerateCollection: true);
            }

            FlushEngineEvents();
        }
        catch (LlmTasksException e)
        {
            ThrowTerminatingError(ErrorRecords.From(e));
        }
    }
}

using System.Management.Automation;
using LlmTasks.Execution;
using LlmTasks.PowerShell.Internal;
using LlmTasks.Storage;

namespace LlmTasks.PowerShell.Commands;

/// <summary>
/// The identity parameter sets the job-like cmdlets share, as Wait-Job and Stop-Job have them:
/// task objects from the pipeline, or -Id, -Name (wildcards), -InstanceId; ids bind by property name.
/// </summary>
public abstract class TaskSelectionCommandBase : LlmTaskCommandBase
{
    protected const string InputObjectSet = "InputObject";
    protected const string IdSet = "Id";
    protected const string NameSet = "Name";
    protected const string InstanceIdSet = "InstanceId";

    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ParameterSetName = InputObjectSet)]
    [ValidateNotNull]
    public LlmTask[] InputObject { get; set; } = [];

    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true, ParameterSetName = IdSet)]
    public long[] Id { get; set; } = [];

    [Parameter(Mandatory = true, Position = 0, ParameterSetName = NameSet)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(Completers.TaskNameCompleter))]
    public string[] Name { get; set; } = [];

    [Parameter(Mandatory = true, ValueFromPipelineByPropertyName = true, ParameterSetName = InstanceIdSet)]
    public Guid[] InstanceId { get; set; } = [];

    /// <summary>
    /// The tasks this record names, read fresh from their store, grouped by store, narrowed by
    /// <paramref name="filter"/>'s time and count limits when given. Ids, instance ids and names
    /// without wildcards that match nothing get an ObjectNotFound error each (unless a filter may
    /// rightly have left them out).
    /// </summary>
    protected IEnumerable<(TaskManager Manager, IReadOnlyList<LlmTask> Tasks)> SelectTasks(TaskQuery? filter = null)
    {
        var query = filter ?? TaskQuery.All;
        var reportMissing = filter is null || filter == TaskQuery.All;
        if (ParameterSetName == InputObjectSet)
        {
            foreach (var selection in SelectTasks(InputObject, query, reportMissing))
            {
                yield return selection;
            }

            yield break;
        }

        var store = Manager();
        switch (ParameterSetName)
        {
            case IdSet:
            {
                var found = store.Store.Query(query with { Ids = Id });
                Missing(reportMissing, Id.Except(found.Select(t => t.Id)).Select(id => $"Id {id}"), store);
                yield return (store, found);
                break;
            }

            case InstanceIdSet:
            {
                var found = store.Store.Query(query with { InstanceIds = InstanceId });
                Missing(reportMissing, InstanceId.Except(found.Select(t => t.InstanceId)).Select(id => $"InstanceId {id}"), store);
                yield return (store, found);
                break;
            }

            case NameSet:
            {
                IReadOnlyList<LlmTask> found = [];
                try
                {
                    found = store.Store.Query(query with { Names = Name });
                }
                catch (LlmTasksException e)
                {
                    ThrowTerminatingError(ErrorRecords.From(e)); // an invalid wildcard pattern (LlmTaskInvalidWildcard)
                }

                var missing = Name.Where(n => !WildcardPattern.ContainsWildcardCharacters(n)
                                              && !found.Any(t => string.Equals(t.Name, WildcardPattern.Unescape(n), StringComparison.OrdinalIgnoreCase)));
                Missing(reportMissing, missing.Select(n => $"Name '{n}'"), store);
                yield return (store, found);
                break;
            }
        }
    }

    private void Missing(bool report, IEnumerable<string> missing, TaskManager manager)
    {
        if (report)
        {
            ReportMissing(missing, manager);
        }
    }

    /// <summary>
    /// Piped task objects, read fresh with one query per store: a cmdlet that gathers its pipeline
    /// input first (Wait-LlmTask) calls this once in EndProcessing instead of once per object.
    /// </summary>
    protected IEnumerable<(TaskManager Manager, IReadOnlyList<LlmTask> Tasks)> SelectTasks(IEnumerable<LlmTask> piped, TaskQuery? filter = null, bool reportMissing = true)
    {
        foreach (var group in piped.GroupBy(t => t.StorePath))
        {
            var manager = Manager(group.Key);
            var requested = group.Select(t => t.Id).Distinct().ToArray();
            var found = manager.Store.Query((filter ?? TaskQuery.All) with { Ids = requested });
            Missing(reportMissing, requested.Except(found.Select(t => t.Id)).Select(id => $"Id {id}"), manager);
            yield return (manager, found);
        }
    }

    private void ReportMissing(IEnumerable<string> missing, TaskManager manager)
    {
        foreach (var what in missing)
        {
            WriteError(ErrorRecords.Create(ErrorRecords.NotFound, ErrorCategory.ObjectNotFound,
                $"No task with {what} in the store '{manager.StorePath}'.", what));
        }
    }
}

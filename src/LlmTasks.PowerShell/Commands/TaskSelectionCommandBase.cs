using System.Management.Automation;
using LlmTasks.Execution;
using LlmTasks.PowerShell.Internal;
using LlmTasks.Storage;

namespace LlmTasks.PowerShell.Commands;

/// <summary>
/// The identity parameter sets the job-like cmdlets share, as Wait-Job and Stop-Job have them:
/// objects from the pipeline or in the first position (<see cref="TaskReferences"/> decides which task
/// each names: Get-LlmTask 5 is task 5, Get-LlmTask nightly* a name), or -Id, -Name, -InstanceId.
/// </summary>
/// <remarks>
/// InputObject is an object[] and takes the first position: PowerShell then binds every piped or
/// positional value to it without conversion, and the references decide. Typed any other way, a piped
/// task binds its Id by property name (losing its store) or a positional task is converted to an id or a name.
/// </remarks>
public abstract class TaskSelectionCommandBase : LlmTaskCommandBase
{
    protected const string InputObjectSet = "InputObject";
    protected const string IdSet = "Id";
    protected const string NameSet = "Name";
    protected const string InstanceIdSet = "InstanceId";

    /// <summary>
    /// Task objects, live or deserialized (Import-Clixml, Receive-Job), rows with an InstanceId and/or Id
    /// column (and a StorePath column), ids, instance ids, or names (wildcards).
    /// </summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ParameterSetName = InputObjectSet)]
    [ValidateNotNull]
    [ArgumentCompleter(typeof(Completers.TaskNameCompleter))] // Get-LlmTask nigh<Tab>: text in the first position is a name
    public object[] InputObject { get; set; } = [];

    [Parameter(Mandatory = true, ValueFromPipelineByPropertyName = true, ParameterSetName = IdSet)]
    public long[] Id { get; set; } = [];

    [Parameter(Mandatory = true, ParameterSetName = NameSet)]
    [ValidateNotNullOrEmpty]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(Completers.TaskNameCompleter))]
    public string[] Name { get; set; } = [];

    [Parameter(Mandatory = true, ValueFromPipelineByPropertyName = true, ParameterSetName = InstanceIdSet)]
    public Guid[] InstanceId { get; set; } = [];

    /// <summary>
    /// True for the cmdlets that change or delete tasks (Stop, Remove, Restart, Approve): they refuse a
    /// piped object that only has an Id property, since any JSON with an "id" field has one. Task objects,
    /// rows with an InstanceId, numbers and -Id are explicit.
    /// </summary>
    protected virtual bool ChangesTasks => false;

    private readonly Dictionary<string, (string? Path, TaskManager? Manager)> _stores = new(StringComparer.Ordinal);

    /// <summary>
    /// The tasks this record names, read fresh from their store, grouped by store, narrowed by
    /// <paramref name="filter"/>'s limits when given. Ids, instance ids and names without wildcards
    /// that match nothing get an ObjectNotFound error each (unless a filter may rightly have left them out).
    /// </summary>
    protected IEnumerable<(TaskManager Manager, IReadOnlyList<LlmTask> Tasks)> SelectTasks(TaskQuery? filter = null)
    {
        var query = filter ?? TaskQuery.All;
        var reportMissing = filter is null || filter == TaskQuery.All;
        if (ParameterSetName == InputObjectSet)
        {
            foreach (var selection in SelectTasks(ReadReferences(InputObject), query, reportMissing))
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
                Missing(reportMissing, missing.Select(NameNotFound), store);
                yield return (store, found);
                break;
            }
        }
    }

    /// <summary>
    /// The references piped objects make; an object that names no task (or, for a cmdlet that changes
    /// tasks, only an Id) gets an error of its own and is left out, never read as something else.
    /// </summary>
    private protected List<TaskReference> ReadReferences(IEnumerable<object> inputs)
    {
        var references = new List<TaskReference>();
        foreach (var input in inputs)
        {
            var reference = TaskReferences.Read(input, out var problem, textIsName: true);
            if (reference is null)
            {
                WriteError(ErrorRecords.Create(ErrorRecords.InputNotTask, ErrorCategory.InvalidArgument,
                    $"{MyInvocation.MyCommand.Name} takes tasks: {problem}.", input,
                    "Pipe task objects (Get-LlmTask …), rows with an Id or InstanceId column, or use -Id, -Name or -InstanceId."));
            }
            else if (ChangesTasks && !reference.TaskShaped)
            {
                WriteError(ErrorRecords.Create(ErrorRecords.IdOnlyObject, ErrorCategory.InvalidArgument,
                    $"{MyInvocation.MyCommand.Name} changes tasks, so it does not take a {ScalarText.TypeName(input)} that only has an Id ({reference.Id}): "
                    + "any object with an \"id\" field has one, and it may not mean task " + reference.Id + ". Nothing was changed.", input,
                    $"Pipe task objects (Get-LlmTask …) or rows with an InstanceId column, or say it explicitly: {MyInvocation.MyCommand.Name} -Id {reference.Id}."));
            }
            else
            {
                references.Add(reference);
            }
        }

        return references;
    }

    /// <summary>
    /// Referenced tasks, read fresh with one query per store and kind of reference, in the order referenced:
    /// a cmdlet that gathers its pipeline input first (Wait-LlmTask) calls this once in EndProcessing.
    /// A reference's own StorePath wins over -StorePath (tasks from different stores can be mixed);
    /// a StorePath that names no store (no file, a database without the store's tables) is an error, never a new, empty store.
    /// </summary>
    private protected IEnumerable<(TaskManager Manager, IReadOnlyList<LlmTask> Tasks)> SelectTasks(IEnumerable<TaskReference> references, TaskQuery? filter = null, bool reportMissing = true)
    {
        var located = new List<(TaskManager Manager, TaskReference Reference)>();
        foreach (var reference in references)
        {
            // Piped tasks name their store: resolved (and its file checked) once per store for the whole pipeline.
            var key = reference.StorePath ?? string.Empty;
            if (!_stores.TryGetValue(key, out var known))
            {
                var resolved = reference.StorePath is null ? null : ResolveStore(reference.StorePath);
                known = (resolved, resolved is null ? Manager() : StoreExists(resolved) ? Manager(resolved) : null);
                _stores[key] = known;
            }

            var (path, manager) = known;
            if (manager is { } store)
            {
                located.Add((store, reference));
            }
            else
            {
                WriteError(TaskReferences.StoreNotFound(reference, path!));
            }
        }

        // Consecutive references to one store are read together: one store's tasks in one query, and
        // tasks of several stores still come back in the order they were named.
        var runs = new List<(TaskManager Manager, List<TaskReference> References)>();
        foreach (var (store, reference) in located)
        {
            if (runs.Count == 0 || runs[^1].Manager != store)
            {
                runs.Add((store, []));
            }

            runs[^1].References.Add(reference);
        }

        foreach (var (manager, group) in runs)
        {
            var query = filter ?? TaskQuery.All;
            var byInstance = group.Where(r => r.InstanceId is not null).Select(r => r.InstanceId!.Value).Distinct().ToArray();
            var byId = group.Where(r => r.InstanceId is null && r.Id is not null).Select(r => r.Id!.Value).Distinct().ToArray();
            var byName = group.Where(r => r.Name is not null).Select(r => r.Name!).Distinct(StringComparer.OrdinalIgnoreCase).ToArray();
            var found = new List<LlmTask>();
            if (byInstance.Length > 0)
            {
                found.AddRange(manager.Store.Query(query with { InstanceIds = byInstance }));
            }

            if (byId.Length > 0)
            {
                found.AddRange(manager.Store.Query(query with { Ids = byId }));
            }

            var named = byName.Length > 0 ? manager.Store.Query(query with { Names = byName }) : [];
            var ids = found.GroupBy(t => t.Id).ToDictionary(g => g.Key, g => g.First());
            var instances = found.GroupBy(t => t.InstanceId).ToDictionary(g => g.Key, g => g.First());
            var ordered = new List<LlmTask>();
            var seen = new HashSet<long>();
            var missing = new List<string>();
            foreach (var reference in group)
            {
                if (reference.Name is { } name)
                {
                    var pattern = new WildcardPattern(name, WildcardOptions.IgnoreCase);
                    var matches = named.Where(t => t.Name is not null && pattern.IsMatch(t.Name)).ToList();
                    if (matches.Count == 0 && !WildcardPattern.ContainsWildcardCharacters(name))
                    {
                        missing.Add(NameNotFound(name));
                    }

                    ordered.AddRange(matches.Where(t => seen.Add(t.Id)));
                    continue;
                }

                var task = reference.InstanceId is { } instanceId ? instances.GetValueOrDefault(instanceId) : ids.GetValueOrDefault(reference.Id!.Value);
                if (task is null)
                {
                    missing.Add(reference.Describe());
                }
                else if (seen.Add(task.Id))
                {
                    ordered.Add(task);
                }
            }

            Missing(reportMissing, missing.Distinct(), manager);
            yield return (manager, ordered);
        }
    }

    private static string NameNotFound(string name) =>
        long.TryParse(name, out var id) ? $"Name '{name}' (for the task with id {id}, use -Id {id})" : $"Name '{name}'";

    private void Missing(bool report, IEnumerable<string> missing, TaskManager manager)
    {
        if (report)
        {
            ReportMissing(missing, manager);
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

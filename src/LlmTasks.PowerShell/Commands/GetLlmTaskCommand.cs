using System.Management.Automation;
using LlmTasks.PowerShell.Internal;
using LlmTasks.Storage;

namespace LlmTasks.PowerShell.Commands;

/// <summary>
/// Gets tasks from the store as they are now, oldest first. Without arguments: every task.
/// Piping task objects in re-reads them; objects with an Id or InstanceId property bind by property name.
/// </summary>
[Cmdlet(VerbsCommon.Get, "LlmTask", DefaultParameterSetName = StateSet)]
[OutputType(typeof(LlmTask))]
public sealed class GetLlmTaskCommand : LlmTaskCommandBase
{
    private const string StateSet = "State";
    private const string IdSet = "Id";
    private const string NameSet = "Name";
    private const string InstanceIdSet = "InstanceId";
    private const string InputObjectSet = "InputObject";

    /// <summary>Task objects to read again as they are now.</summary>
    [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = InputObjectSet)]
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

    [Parameter(ParameterSetName = StateSet)]
    public LlmTaskState[] State { get; set; } = [];

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
        if (ParameterSetName == InputObjectSet)
        {
            foreach (var group in InputObject.GroupBy(t => t.StorePath))
            {
                var ids = group.Select(t => t.Id).ToArray();
                var current = Manager(group.Key).Store.Query(new TaskQuery { Ids = ids });
                WriteTasks(Manager(group.Key), current);
                foreach (var id in ids.Except(current.Select(t => t.Id)))
                {
                    WriteError(ErrorRecords.Create(ErrorRecords.NotFound, ErrorCategory.ObjectNotFound,
                        $"Task {id} is no longer in the store '{group.Key}'.", id));
                }
            }

            return;
        }

        var manager = Manager();
        var bound = MyInvocation.BoundParameters;
        var query = new TaskQuery
        {
            Ids = ParameterSetName == IdSet ? Id : null,
            InstanceIds = ParameterSetName == InstanceIdSet ? InstanceId : null,
            Names = ParameterSetName == NameSet ? Name : null,
            States = ParameterSetName == StateSet ? State : null,
            Newest = bound.ContainsKey(nameof(Newest)) ? Newest : null,
            After = bound.ContainsKey(nameof(After)) ? After : null,
            Before = bound.ContainsKey(nameof(Before)) ? Before : null,
        };

        IReadOnlyList<LlmTask> tasks;
        try
        {
            tasks = manager.Store.Query(query);
        }
        catch (LlmTasksException e)
        {
            ThrowTerminatingError(ErrorRecords.From(e));
            return;
        }

        WriteTasks(manager, tasks);
        var filtered = bound.ContainsKey(nameof(Newest)) || bound.ContainsKey(nameof(After)) || bound.ContainsKey(nameof(Before));
        if (filtered)
        {
            return; // a filter may rightly leave out a named task: that is not "not found"
        }

        var missing = ParameterSetName switch
        {
            IdSet => Id.Except(tasks.Select(t => t.Id)).Select(id => $"Id {id}"),
            InstanceIdSet => InstanceId.Except(tasks.Select(t => t.InstanceId)).Select(id => $"InstanceId {id}"),
            NameSet => Name.Where(n => !WildcardPattern.ContainsWildcardCharacters(n)
                                       && !tasks.Any(t => string.Equals(t.Name, n, StringComparison.OrdinalIgnoreCase)))
                           .Select(n => $"Name '{n}'"),
            _ => [],
        };
        foreach (var what in missing)
        {
            WriteError(ErrorRecords.Create(ErrorRecords.NotFound, ErrorCategory.ObjectNotFound,
                $"No task with {what} in the store '{manager.StorePath}'.", what));
        }
    }

    /// <summary>
    /// Writes the tasks with the results of their latest verified attempt as Checks and FailedChecks
    /// (note properties: one store read for all of them).
    /// </summary>
    private void WriteTasks(Execution.TaskManager manager, IReadOnlyList<LlmTask> tasks)
    {
        var checks = tasks.Count == 0 ? new Dictionary<long, IReadOnlyList<Verification.LlmCheckResult>>() : manager.Store.GetChecks(tasks.Select(t => t.Id).ToArray());
        foreach (var task in tasks)
        {
            var latest = checks.TryGetValue(task.Id, out var all) && all.Count > 0
                ? all.Where(c => c.Attempt == all.Max(x => x.Attempt)).ToArray()
                : [];
            var output = PSObject.AsPSObject(task);
            output.Properties.Add(new PSNoteProperty("Checks", latest));
            output.Properties.Add(new PSNoteProperty("FailedChecks", latest.Where(c => !c.Passed).ToArray()));
            WriteObject(output);
        }
    }
}

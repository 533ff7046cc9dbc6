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
public sealed class GetLlmTaskCommand : TaskSelectionCommandBase
{
    private const string StateSet = "State";

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
        var bound = MyInvocation.BoundParameters;
        var filter = new TaskQuery
        {
            Newest = bound.ContainsKey(nameof(Newest)) ? Newest : null,
            After = bound.ContainsKey(nameof(After)) ? After : null,
            Before = bound.ContainsKey(nameof(Before)) ? Before : null,
        };

        try
        {
            if (ParameterSetName == StateSet)
            {
                var manager = Manager();
                WriteTasks(manager, manager.Store.Query(filter with { States = State }));
                FlushEngineEvents();
                return;
            }

            foreach (var (manager, tasks) in SelectTasks(filter == new TaskQuery() ? null : filter))
            {
                WriteTasks(manager, tasks);
            }

            FlushEngineEvents();
        }
        catch (LlmTasksException e)
        {
            ThrowTerminatingError(ErrorRecords.From(e));
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

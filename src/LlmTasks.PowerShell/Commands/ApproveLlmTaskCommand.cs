using System.Management.Automation;
using LlmTasks.PowerShell.Internal;

namespace LlmTasks.PowerShell.Commands;

/// <summary>
/// Completes tasks that need review, keeping their last output: a person decided it is good.
/// Who approved and why is kept in the store (an Approval entry among the task's checks).
/// </summary>
[Cmdlet(VerbsLifecycle.Approve, "LlmTask", DefaultParameterSetName = IdSet, SupportsShouldProcess = true)]
[OutputType(typeof(LlmTask))]
public sealed class ApproveLlmTaskCommand : TaskSelectionCommandBase
{
    /// <summary>Piped objects with only an Id are refused: see <see cref="TaskSelectionCommandBase.ChangesTasks"/>.</summary>
    protected override bool ChangesTasks => true;

    /// <summary>Why the output is acceptable; stored with the approval.</summary>
    [Parameter]
    [Alias("Note")]
    public string? Reason { get; set; }

    /// <summary>Who approves; default the current user.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? ApprovedBy { get; set; }

    /// <summary>Write the approved tasks.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        foreach (var (manager, tasks) in SelectTasks())
        {
            var ids = new List<long>();
            foreach (var task in tasks)
            {
                if (task.State != LlmTaskState.NeedsReview)
                {
                    WriteError(ErrorRecords.Create(ErrorRecords.NotReviewable, ErrorCategory.InvalidOperation,
                        $"Task {ErrorRecords.Describe(task)} does not need review; only NeedsReview tasks can be approved.", task));
                }
                else if (ShouldProcess(ErrorRecords.Describe(task), "Approve"))
                {
                    ids.Add(task.Id);
                }
            }

            if (ids.Count == 0)
            {
                continue;
            }

            try
            {
                var approved = manager.Store.Approve(ids, ApprovedBy ?? Environment.UserName, Reason);
                foreach (var id in ids.Except(approved.Select(t => t.Id)))
                {
                    WriteError(ErrorRecords.Create(ErrorRecords.NotReviewable, ErrorCategory.InvalidOperation,
                        $"Task {id} changed state before it could be approved.", id));
                }

                if (PassThru)
                {
                    WriteObject(TaskObjects.WithChecks(manager, approved), enumerateCollection: true);
                }
            }
            catch (LlmTasksException e)
            {
                WriteError(e);
            }
        }

        FlushEngineEvents();
    }
}

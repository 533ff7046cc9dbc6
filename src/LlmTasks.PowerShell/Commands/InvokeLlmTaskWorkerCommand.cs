using System.Management.Automation;
using LlmTasks.Execution;
using LlmTasks.PowerShell.Internal;

namespace LlmTasks.PowerShell.Commands;

/// <summary>
/// Runs a store's left-over work in the foreground: tasks no live process holds (left by sessions that
/// exited, or by processes on this machine that died), as Start-LlmTask would have run them, until
/// Ctrl+C, until the process is told to end (SIGTERM), or, with -UntilEmpty, until nothing is left that
/// it may take; then it hands back what it holds and (when it ended by itself) writes a summary.
/// Invoke, not Start: it runs here and returns when done, as Invoke-Command and Invoke-Pester do,
/// where Start-* cmdlets return at once and leave the work running.
/// </summary>
[Cmdlet(VerbsLifecycle.Invoke, "LlmTaskWorker")]
[OutputType(typeof(LlmTaskWorkerSummary))]
public sealed class InvokeLlmTaskWorkerCommand : LlmTaskCommandBase
{
    private static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(250);
    private ProgressRecord? _progress;

    /// <summary>Only tasks whose name matches one of these (wildcards).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(Completers.TaskNameCompleter))]
    public string[]? Name { get; set; }

    /// <summary>Only tasks whose model matches one of these (wildcards), e.g. 'mock/*'.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(Completers.ModelCompleter))]
    public string[]? Model { get; set; }

    /// <summary>Model calls at once in this session (sticky, as Start-LlmTask -ThrottleLimit); default 8.</summary>
    [Parameter]
    [ValidateRange(1, 1024)]
    public int ThrottleLimit { get; set; }

    /// <summary>End when the worker holds nothing and finds nothing it may take, and write the summary (a CI step).</summary>
    [Parameter]
    public SwitchParameter UntilEmpty { get; set; }

    protected override void EndProcessing()
    {
        if (MyInvocation.BoundParameters.ContainsKey(nameof(ThrottleLimit)))
        {
            TaskManagers.SetConcurrency(ThrottleLimit);
        }

        var manager = Manager();
        TaskWorker worker;
        try
        {
            worker = manager.StartWorker(Name, Model);
        }
        catch (LlmTasksException e)
        {
            FlushEngineEvents();
            ThrowTerminatingError(ErrorRecords.From(e));
            return; // not reached
        }

        _progress = new ProgressRecord(0x11A6, $"LlmTasks worker on {manager.StorePath}", "Looking for work");
        LlmTaskWorkerSummary summary;
        try
        {
            summary = Run(manager, worker);
        }
        finally
        {
            // Ctrl+C, an error, or the end: whatever it still holds goes back to the store.
            worker.Stop();
            FlushEngineEventsQuietly();
        }

        CompleteProgress();
        WriteObject(summary);
    }

    private LlmTaskWorkerSummary Run(TaskManager manager, TaskWorker worker)
    {
        while (true)
        {
            if (PipelineStopping.WaitHandle.WaitOne(Tick))
            {
                worker.Stop(); // hand back before the pipeline unwinds
                throw new PipelineStoppedException();
            }

            if (worker.ManagerIsShutDown || manager.IsShutDown)
            {
                return worker.Stop("ShutDown");
            }

            foreach (var fault in manager.TakeFaults())
            {
                WriteWarning($"Background work on the task store '{manager.StorePath}' failed: {fault} Affected tasks run again once their leases expire.");
            }

            FlushEngineEvents();
            ShowProgress(worker);
            if (UntilEmpty && worker.IsEmpty)
            {
                return worker.Stop("QueueEmpty");
            }
        }
    }

    private void ShowProgress(TaskWorker worker)
    {
        var progress = _progress!;
        var running = worker.Running;
        progress.StatusDescription = $"{running} running, {worker.Held - running} queued here; {worker.Finished} finished";
        progress.CurrentOperation = $"completed {worker.Completed}, failed {worker.Failed}, needs review {worker.NeedsReview}, cancelled {worker.Cancelled}"
            + (worker.IsEmpty ? "; waiting for work" : string.Empty);
        progress.RecordType = ProgressRecordType.Processing;
        WriteProgress(progress);
    }

    private void CompleteProgress()
    {
        if (_progress is { } progress)
        {
            progress.RecordType = ProgressRecordType.Completed;
            WriteProgress(progress);
        }
    }

    private void FlushEngineEventsQuietly()
    {
        try
        {
            FlushEngineEvents();
        }
        catch (PipelineStoppedException)
        {
            // Stopping: narration of the hand-back cannot be written any more.
        }
    }
}

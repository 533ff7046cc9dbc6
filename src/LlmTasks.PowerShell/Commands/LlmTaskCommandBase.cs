using System.Collections.Concurrent;
using System.Management.Automation;
using LlmTasks.Diagnostics;
using LlmTasks.Execution;
using LlmTasks.PowerShell.Internal;

namespace LlmTasks.PowerShell.Commands;

/// <summary>
/// What every LlmTasks cmdlet shares: -StorePath (relative to the current location), the store's
/// task manager, and a cancellation token that Ctrl+C (StopProcessing) cancels.
/// </summary>
public abstract class LlmTaskCommandBase : PSCmdlet, IDisposable
{
    private readonly CancellationTokenSource _stopping = new();
    private readonly ConcurrentQueue<EngineEvent> _events = new();
    private Action<EngineEvent>? _listener;
    private bool _wantsDebug;

    /// <summary>The task store file; default $env:LLMTASKS_STORE, else the per-user data folder.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? StorePath { get; set; }

    protected CancellationToken PipelineStopping => _stopping.Token;

    protected override void StopProcessing() => _stopping.Cancel();

    /// <summary>The manager of a store (this cmdlet's -StorePath unless given); store errors end the cmdlet.</summary>
    protected TaskManager Manager(string? storePath = null)
    {
        var path = storePath ?? StorePath;
        ListenToEngine();
        try
        {
            var manager = TaskManagers.Get(path is null ? null : SessionState.Path.GetUnresolvedProviderPathFromPSPath(path));
            foreach (var fault in manager.TakeFaults())
            {
                WriteWarning($"Background work on the task store '{manager.StorePath}' failed: {fault} Affected tasks run again once their leases expire.");
            }

            FlushEngineEvents();
            return manager;
        }
        catch (LlmTasksException e)
        {
            FlushEngineEvents();
            ThrowTerminatingError(ErrorRecords.From(e));
            throw; // not reached
        }
    }

    /// <summary>
    /// Starts queueing the engine's narration (<see cref="EngineEvents"/>) when -Verbose or -Debug (or
    /// their preference variables) ask for it. Events arrive on any thread; only
    /// <see cref="FlushEngineEvents"/>, on this cmdlet's thread, writes them.
    /// </summary>
    protected void ListenToEngine()
    {
        if (_listener is not null)
        {
            return;
        }

        _wantsDebug = Wants("Debug", "DebugPreference");
        if (!_wantsDebug && !Wants("Verbose", "VerbosePreference"))
        {
            return;
        }

        _listener = e =>
        {
            if (e.Level == EngineEventLevel.Verbose || _wantsDebug)
            {
                _events.Enqueue(e);
            }
        };
        EngineEvents.Raised += _listener;
    }

    /// <summary>Writes the queued engine events as verbose and debug messages. Call only from the pipeline thread.</summary>
    protected internal void FlushEngineEvents()
    {
        while (_events.TryDequeue(out var e))
        {
            var text = e.TaskId is { } id ? $"Task {id}: {e.Message}" : e.Message;
            if (e.Level == EngineEventLevel.Debug)
            {
                WriteDebug(text);
            }
            else
            {
                WriteVerbose(text);
            }
        }
    }

    private bool Wants(string parameter, string preferenceVariable)
    {
        if (MyInvocation.BoundParameters.TryGetValue(parameter, out var value))
        {
            return value is SwitchParameter { IsPresent: true } || (value is bool b && b);
        }

        return GetVariableValue(preferenceVariable) is ActionPreference preference && preference != ActionPreference.SilentlyContinue && preference != ActionPreference.Ignore;
    }

    protected void WriteError(LlmTasksException e) => WriteError(ErrorRecords.From(e));

    public void Dispose()
    {
        if (_listener is not null)
        {
            EngineEvents.Raised -= _listener;
            _listener = null;
        }

        _stopping.Dispose();
        GC.SuppressFinalize(this);
    }
}

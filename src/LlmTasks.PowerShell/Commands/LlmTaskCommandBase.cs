using System.Collections.Concurrent;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using LlmTasks.Diagnostics;
using LlmTasks.Execution;
using LlmTasks.PowerShell.Internal;
using LlmTasks.Storage;

namespace LlmTasks.PowerShell.Commands;

/// <summary>
/// What every LlmTasks cmdlet shares: -StorePath (relative to the current location), the store's
/// task manager, and a cancellation token that Ctrl+C (StopProcessing) cancels.
/// </summary>
public abstract class LlmTaskCommandBase : PSCmdlet, IDisposable
{
    private readonly CancellationTokenSource _stopping = new();
    private readonly ConcurrentQueue<EngineEvent> _events = new();
    private readonly ConcurrentDictionary<string, byte> _stores = new(OperatingSystem.IsWindows() ? StringComparer.OrdinalIgnoreCase : StringComparer.Ordinal);
    private Action<EngineEvent>? _listener;
    private bool _wantsDebug;
    private bool _verboseAsDebug;

    /// <summary>Counts this cmdlet's runspace as one that uses the module (the last one to close releases the engine).</summary>
    protected LlmTaskCommandBase() => ModuleRunspaces.Add(Runspace.DefaultRunspace);

    /// <summary>The task store: a file path, or a PostgreSQL URI or connection string; default $env:LLMTASKS_STORE, else the per-user data folder.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(Completers.StorePathCompleter))]
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
            var resolved = StoreLocation.Resolve(path, ResolveStore);
            _stores.TryAdd(resolved.Display, 0); // narration about this store is this cmdlet's to show
            var manager = TaskManagers.Get(resolved);
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
    /// A store reference as this session reads it: a path relative to the current location (PSDrives, ~) made
    /// full; a URI or connection string as it is, never read as a path.
    /// </summary>
    protected internal string ResolveStore(string reference) =>
        StoreLocation.IsFilePath(reference) ? SessionState.Path.GetUnresolvedProviderPathFromPSPath(reference) : reference;

    /// <summary>Whether the store a piped reference names is there (nothing is created to find out); an unreachable store ends the cmdlet.</summary>
    protected bool StoreExists(string reference)
    {
        try
        {
            return StoreLocation.Exists(StoreLocation.Resolve(reference, ResolveStore));
        }
        catch (LlmTasksException e)
        {
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

        // -Debug alone makes WriteVerbose ask for confirmation (Inquire) in a compiled cmdlet: write the
        // verbose narration as debug messages then, so -Debug shows everything and prompts for nothing.
        _verboseAsDebug = Bound("Debug") && !Bound("Verbose");

        _listener = e =>
        {
            // Only what concerns the stores this cmdlet uses (other runspaces of the process narrate their own work).
            if ((e.Level == EngineEventLevel.Verbose || _wantsDebug) && (e.Store is null || _stores.ContainsKey(e.Store)))
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
            if (e.Level == EngineEventLevel.Debug || _verboseAsDebug)
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
        if (MyInvocation.BoundParameters.ContainsKey(parameter))
        {
            return Bound(parameter);
        }

        // A preference set in a script scope ($VerbosePreference = 'Continue') is a plain string there.
        return LanguagePrimitives.TryConvertTo<ActionPreference>(GetVariableValue(preferenceVariable), out var preference)
               && preference != ActionPreference.SilentlyContinue && preference != ActionPreference.Ignore;
    }

    private bool Bound(string parameter) =>
        MyInvocation.BoundParameters.TryGetValue(parameter, out var value) && (value is SwitchParameter { IsPresent: true } || (value is bool b && b));

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

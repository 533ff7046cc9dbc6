using System.Management.Automation.Runspaces;

namespace LlmTasks.PowerShell.Internal;

/// <summary>
/// The runspaces of this process that use the module, counted so that the last one to close (or
/// Remove-Module in it) releases what the module started: the task managers hand their work back to
/// the store, the script-check runspaces close. A host that embeds PowerShell, imports the module and
/// closes its runspace can then exit; another runspace still using the module keeps everything running.
/// A runspace is counted when it imports the module and again (idempotently) when it runs a cmdlet
/// (a runspace opened with InitialSessionState.ImportPSModule may import it before it is the default one).
/// </summary>
internal static class ModuleRunspaces
{
    private static readonly object Lock = new();
    private static readonly HashSet<Runspace> Users = new(ReferenceEqualityComparer.Instance);
    private static Action? _start;
    private static Action? _release;
    private static bool _started;

    /// <summary>What to run when the first runspace arrives (again, after a release) and when the last one leaves.</summary>
    public static void Configure(Action start, Action release)
    {
        lock (Lock)
        {
            _start = start;
            _release = release;
        }
    }

    /// <summary>Counts a runspace as a user of the module (null: the module is in use, by no runspace we can see).</summary>
    public static void Add(Runspace? runspace)
    {
        lock (Lock)
        {
            if (!_started)
            {
                _start?.Invoke();
                _started = true;
            }

            // A check runspace that loads the module (a check calling Get-LlmTask) must not keep it alive: the module owns those.
            if (runspace is null || runspace.Name == ScriptCheckRunner.RunspaceName || !Users.Add(runspace))
            {
                return;
            }

            runspace.StateChanged += OnStateChanged;
            if (runspace.RunspaceStateInfo.State is RunspaceState.Closing or RunspaceState.Closed or RunspaceState.Broken)
            {
                RemoveLocked(runspace); // closed before we could watch it
            }
        }
    }

    /// <summary>Remove-Module in a runspace: it stops using the module; releases everything when it was the last.</summary>
    public static void Remove(Runspace? runspace)
    {
        lock (Lock)
        {
            if (runspace is not null && Users.Contains(runspace))
            {
                RemoveLocked(runspace);
            }
            else if (Users.Count == 0)
            {
                ReleaseLocked();
            }
        }
    }

    private static void OnStateChanged(object? sender, RunspaceStateEventArgs e)
    {
        if (sender is Runspace runspace && e.RunspaceStateInfo.State is RunspaceState.Closing or RunspaceState.Closed or RunspaceState.Broken)
        {
            lock (Lock)
            {
                if (Users.Contains(runspace))
                {
                    RemoveLocked(runspace);
                }
            }
        }
    }

    private static void RemoveLocked(Runspace runspace)
    {
        runspace.StateChanged -= OnStateChanged;
        Users.Remove(runspace);
        if (Users.Count == 0)
        {
            ReleaseLocked();
        }
    }

    private static void ReleaseLocked()
    {
        if (!_started)
        {
            return;
        }

        _started = false;
        _release?.Invoke();
    }
}

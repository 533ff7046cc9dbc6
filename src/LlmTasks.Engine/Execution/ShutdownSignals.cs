using System.Runtime.InteropServices;

namespace LlmTasks.Execution;

/// <summary>
/// Hands the process's work back when it is told to end by a signal that .NET does not turn into a
/// normal exit: SIGTERM (systemd stop, docker stop, kill) and SIGHUP (the terminal went away). The
/// handler runs the shutdown (running calls interrupted and recorded, every task handed back) and then
/// lets the signal do what it does by default, so the process still ends as the sender expects.
/// SIGINT (Ctrl+C) is left to the host: pwsh stops the running command with it, and a process that then
/// exits hands its work back on the normal exit path. SIGKILL runs no code at all: other processes on the
/// same machine notice the dead owner at once (<see cref="LeaseOwner.IsGone"/>).
/// </summary>
internal static class ShutdownSignals
{
    private static readonly object Lock = new();
    private static List<PosixSignalRegistration>? _registrations;

    public static void Register(Action shutdown)
    {
        lock (Lock)
        {
            if (_registrations is not null)
            {
                return;
            }

            _registrations = [];
            foreach (var signal in new[] { PosixSignal.SIGTERM, PosixSignal.SIGHUP })
            {
                try
                {
                    _registrations.Add(PosixSignalRegistration.Create(signal, _ => Run(shutdown)));
                }
                catch (Exception e) when (e is PlatformNotSupportedException or IOException or UnauthorizedAccessException)
                {
                    // Not on this platform or host: leases and the owner check still recover the work.
                }
            }
        }
    }

    private static void Run(Action shutdown)
    {
        try
        {
            shutdown(); // context.Cancel stays false: the default action (ending the process) follows
        }
        catch (Exception)
        {
            // The process is ending either way; whatever was not handed back is recovered by the owner check or its lease.
        }
    }
}

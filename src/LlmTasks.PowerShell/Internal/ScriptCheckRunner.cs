using System.Collections.Concurrent;
using System.Collections.ObjectModel;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using LlmTasks.Verification;

namespace LlmTasks.PowerShell.Internal;

/// <summary>
/// Runs script-block checks in runspaces the module owns: never the caller's runspace (tasks run on
/// engine threads), and nothing reaches the caller's pipeline. The block is re-created from its text,
/// so it sees only its parameters ($Output, $Task), the environment and the global state of these
/// runspaces (<see cref="ScriptCheckRules"/> refuses blocks that would read anything else).
/// <para>
/// Each check runs on a background thread of its own (the runspaces use
/// <see cref="PSThreadOptions.UseCurrentThread"/>): a RunspacePool's pipeline threads are foreground
/// threads that keep a hosting process alive until someone closes the pool. Idle runspaces are reused,
/// at most <see cref="MaxRunspaces"/> run at once. <see cref="Dispose"/> (the module's last runspace
/// closing, Remove-Module) stops running checks, which end with <see cref="CheckInterruptedException"/>
/// rather than a verdict, and closes every runspace.
/// </para>
/// </summary>
internal sealed class ScriptCheckRunner : IScriptCheckRunner, IDisposable
{
    /// <summary>The name of the check runspaces: they never count as users of the module (<see cref="ModuleRunspaces"/>), even when a check loads it.</summary>
    public const string RunspaceName = "LlmTasks script check";

    private const int StackSize = 10 * 1024 * 1024; // as PowerShell's own pipeline threads: deep recursion in a check must not crash the process
    private static readonly int MaxRunspaces = Math.Max(2, Environment.ProcessorCount);

    private readonly ConcurrentBag<Runspace> _idle = new();
    private readonly ConcurrentDictionary<System.Management.Automation.PowerShell, byte> _running = new();
    private readonly SemaphoreSlim _slots = new(MaxRunspaces);
    private readonly object _lock = new();
    private IReadOnlySet<string>? _globalVariables;
    private readonly ConcurrentDictionary<string, bool> _commands = new(StringComparer.OrdinalIgnoreCase);
    private volatile bool _closed;

    public async Task<(bool Passed, string? Reason)> RunAsync(string script, string output, LlmTask? task, CancellationToken cancellationToken)
    {
        var results = await InvokeAsync(shell => shell.AddScript(script, useLocalScope: true).AddArgument(output).AddArgument(task), cancellationToken).ConfigureAwait(false);
        if (results.Error is { } error)
        {
            return (false, "The script block wrote an error: " + error);
        }

        if (results.Thrown is { } thrown)
        {
            return (false, "The script block threw: " + thrown.Message);
        }

        var last = results.Output.Count == 0 ? null : results.Output[^1]?.BaseObject;
        return last switch
        {
            bool b => (b, b ? null : "The script block returned $false."),
            string reason => (false, reason),
            null => (false, "The script block returned nothing; return $true to pass."),
            _ => (LanguagePrimitives.IsTrue(last), LanguagePrimitives.IsTrue(last) ? null : $"The script block returned {last}."),
        };
    }

    /// <summary>The names of the variables every check's runspace has before a check runs ($true, $PSVersionTable, the preference variables …).</summary>
    public IReadOnlySet<string> GlobalVariables()
    {
        lock (_lock)
        {
            if (_globalVariables is not null)
            {
                return _globalVariables;
            }
        }

        var names = Invoke(shell => shell.AddCommand("Get-Variable").AddCommand("ForEach-Object").AddParameter("MemberName", "Name"))
            .Output.Select(o => o?.BaseObject?.ToString()).OfType<string>().ToHashSet(StringComparer.OrdinalIgnoreCase);
        lock (_lock)
        {
            return _globalVariables ??= names;
        }
    }

    /// <summary>Which of these command names do not exist where checks run (functions and aliases of the caller's session, modules not on $env:PSModulePath).</summary>
    public IReadOnlyList<string> MissingCommands(IReadOnlyCollection<string> names)
    {
        var unknown = names.Where(n => !_commands.ContainsKey(n)).Distinct(StringComparer.OrdinalIgnoreCase).ToArray();
        if (unknown.Length > 0)
        {
            var missing = Invoke(shell => shell.AddScript("""
                    param([string[]] $Names)
                    foreach ($name in $Names) {
                        if (-not (Get-Command -Name ([WildcardPattern]::Escape($name)) -ErrorAction Ignore)) { $name }
                    }
                    """).AddArgument(unknown))
                .Output.Select(o => o?.BaseObject?.ToString()).OfType<string>().ToHashSet(StringComparer.OrdinalIgnoreCase);
            foreach (var name in unknown)
            {
                _commands[name] = !missing.Contains(name);
            }
        }

        return names.Where(n => !_commands[n]).ToArray();
    }

    private Outcome Invoke(Action<System.Management.Automation.PowerShell> build) =>
        InvokeAsync(build, CancellationToken.None).GetAwaiter().GetResult();

    /// <summary>Runs one invocation on a background thread of its own, in an idle runspace (or a new one).</summary>
    private async Task<Outcome> InvokeAsync(Action<System.Management.Automation.PowerShell> build, CancellationToken cancellationToken)
    {
        ThrowIfClosed();
        await _slots.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ThrowIfClosed();
            var done = new TaskCompletionSource<Outcome>(TaskCreationOptions.RunContinuationsAsynchronously);
            var thread = new Thread(() =>
            {
                try
                {
                    done.TrySetResult(InvokeHere(build, cancellationToken));
                }
                catch (Exception e)
                {
                    done.TrySetException(e);
                }
            }, StackSize)
            {
                IsBackground = true,
                Name = "LlmTasks script check",
            };
            thread.Start();
            return await done.Task.ConfigureAwait(false);
        }
        finally
        {
            _slots.Release();
        }
    }

    private Outcome InvokeHere(Action<System.Management.Automation.PowerShell> build, CancellationToken cancellationToken)
    {
        var runspace = TakeRunspace();
        var healthy = false;
        try
        {
            using var shell = System.Management.Automation.PowerShell.Create();
            shell.Runspace = runspace;
            build(shell);
            _running[shell] = 0;
            try
            {
                using var registration = cancellationToken.Register(() => shell.BeginStop(null, null));
                if (_closed)
                {
                    throw Interrupted(cancellationToken);
                }

                Collection<PSObject> output;
                RuntimeException? thrown = null;
                try
                {
                    output = shell.Invoke();
                }
                catch (RuntimeException e) when (e is not PipelineStoppedException && shell.InvocationStateInfo.State != PSInvocationState.Stopped)
                {
                    output = [];
                    thrown = e;
                }
                catch (Exception e) when (e is PipelineStoppedException or InvalidRunspaceStateException or ObjectDisposedException)
                {
                    throw Interrupted(cancellationToken);
                }

                // A stopped invocation returns what it had so far (often nothing): that is no verdict.
                if (shell.InvocationStateInfo.State == PSInvocationState.Stopped || cancellationToken.IsCancellationRequested || _closed)
                {
                    throw Interrupted(cancellationToken);
                }

                healthy = runspace.RunspaceStateInfo.State == RunspaceState.Opened;
                var error = shell.HadErrors && shell.Streams.Error.Count > 0 ? shell.Streams.Error[0] : null;
                return new Outcome(output, error, thrown);
            }
            finally
            {
                _running.TryRemove(shell, out _);
            }
        }
        finally
        {
            ReturnRunspace(runspace, healthy);
        }
    }

    private OperationCanceledException Interrupted(CancellationToken cancellationToken) =>
        cancellationToken.IsCancellationRequested
            ? new OperationCanceledException(cancellationToken)
            : new CheckInterruptedException("The script-block check was interrupted: the LlmTasks module was removed or its last runspace closed while it ran.");

    private void ThrowIfClosed()
    {
        if (_closed)
        {
            throw new CheckInterruptedException("The script-block check was not run: the LlmTasks module was removed or its last runspace closed.");
        }
    }

    private Runspace TakeRunspace()
    {
        if (_idle.TryTake(out var idle))
        {
            return idle;
        }

        var runspace = RunspaceFactory.CreateRunspace(InitialSessionState.CreateDefault2());
        runspace.ThreadOptions = PSThreadOptions.UseCurrentThread;
        runspace.Name = RunspaceName;
        runspace.Open();
        return runspace;
    }

    private void ReturnRunspace(Runspace runspace, bool healthy)
    {
        if (!healthy)
        {
            runspace.Dispose();
            return;
        }

        _idle.Add(runspace);
        if (_closed)
        {
            // Closed meanwhile: Dispose may have emptied the bag before this one went in.
            while (_idle.TryTake(out var late))
            {
                late.Dispose();
            }
        }
    }

    /// <summary>Stops running checks (they end with <see cref="CheckInterruptedException"/>) and closes every runspace. Later runs are refused the same way.</summary>
    public void Dispose()
    {
        _closed = true;
        foreach (var shell in _running.Keys)
        {
            try
            {
                shell.BeginStop(null, null);
            }
            catch (Exception e) when (e is ObjectDisposedException or InvalidOperationException)
            {
                // It ended meanwhile.
            }
        }

        while (_idle.TryTake(out var runspace))
        {
            runspace.Dispose();
        }
    }

    private sealed record Outcome(Collection<PSObject> Output, ErrorRecord? Error, RuntimeException? Thrown);
}

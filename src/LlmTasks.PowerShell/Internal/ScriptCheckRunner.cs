using System.Management.Automation;
using System.Management.Automation.Runspaces;
using LlmTasks.Verification;

namespace LlmTasks.PowerShell.Internal;

/// <summary>
/// Runs script-block checks in a runspace pool the module owns: never the caller's runspace (tasks
/// run on engine threads), and nothing reaches the caller's pipeline. The block is re-created from
/// its text in the pool, so it sees only its parameters ($Output, $Task), the environment and
/// global state of the pool; $using: and the caller's variables are not available.
/// </summary>
internal sealed class ScriptCheckRunner : IScriptCheckRunner, IDisposable
{
    private readonly object _lock = new();
    private RunspacePool? _pool;

    public async Task<(bool Passed, string? Reason)> RunAsync(string script, string output, LlmTask? task, CancellationToken cancellationToken)
    {
        using var shell = System.Management.Automation.PowerShell.Create();
        shell.RunspacePool = Pool();
        shell.AddScript(script, useLocalScope: true).AddArgument(output).AddArgument(task);
        using var registration = cancellationToken.Register(() => shell.BeginStop(null, null));
        try
        {
            var results = await Task.Factory.FromAsync(shell.BeginInvoke(), shell.EndInvoke).ConfigureAwait(false);
            if (shell.HadErrors && shell.Streams.Error.Count > 0)
            {
                return (false, "The script block wrote an error: " + shell.Streams.Error[0]);
            }

            var last = results.Count == 0 ? null : results[^1]?.BaseObject;
            return last switch
            {
                bool b => (b, b ? null : "The script block returned $false."),
                string reason => (false, reason),
                null => (false, "The script block returned nothing; return $true to pass."),
                _ => (LanguagePrimitives.IsTrue(last), LanguagePrimitives.IsTrue(last) ? null : $"The script block returned {last}."),
            };
        }
        catch (PipelineStoppedException) when (cancellationToken.IsCancellationRequested)
        {
            throw new OperationCanceledException(cancellationToken);
        }
        catch (RuntimeException e)
        {
            return (false, "The script block threw: " + e.Message);
        }
    }

    private RunspacePool Pool()
    {
        lock (_lock)
        {
            if (_pool is null)
            {
                var pool = RunspaceFactory.CreateRunspacePool(InitialSessionState.CreateDefault2());
                pool.SetMaxRunspaces(Math.Max(2, Environment.ProcessorCount));
                pool.Open();
                _pool = pool;
            }

            return _pool;
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            _pool?.Dispose();
            _pool = null;
        }
    }
}

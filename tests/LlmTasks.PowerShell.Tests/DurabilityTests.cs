using System.Diagnostics;

namespace LlmTasks.PowerShell.Tests;

/// <summary>
/// The store's promise under crashes and concurrency, with real processes: a task accepted is never
/// lost, never completed twice, and ends in a state that says why. Each runs on a SQLite file and on a PostgreSQL
/// database of the test server (<see cref="TestStores"/>).
/// </summary>
public sealed class DurabilityTests : IDisposable
{
    // The default lease: hand-over after a kill on one machine no longer waits for it (the owner's process
    // is gone), and a short lease would let a heartbeat starved on a loaded machine re-run a live call.
    private static readonly Dictionary<string, string?> Wide = new() { ["LLMTASKS_THROTTLE_LIMIT"] = "64" };
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "llmtasks-durability", Guid.NewGuid().ToString("N"));

    private readonly TestStores _stores;

    public DurabilityTests()
    {
        Directory.CreateDirectory(_folder);
        _stores = new TestStores(_folder);
    }

    public void Dispose()
    {
        _stores.Dispose();
        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    [Theory]
    [InlineData("sqlite")]
    [InlineData("postgres")]
    public async Task A_process_killed_with_SIGKILL_mid_run_loses_no_task_and_completes_none_twice(string backend)
    {
        var store = _stores.New(backend, "killed");
        using (var doomed = Pwsh.Start(["-Command", """
            $tasks = 1..1000 | ForEach-Object { "task $_" } | Start-LlmTask -Model mock/delay:200 -Name crash
            "started $($tasks.Count)"
            [System.Threading.Thread]::Sleep(600000)
            """], Pwsh.WithStore(store, Wide)))
        {
            var started = await doomed.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(120));
            Assert.Equal("started 1000", started);
            // Kill once some calls have finished and others are mid-call (the rest queued), however loaded the machine.
            var inspectorWhileRunning = new StoreInspector(store);
            var deadline = DateTime.UtcNow.AddSeconds(120);
            while (!(inspectorWhileRunning.Scalar<long>("SELECT count(*) FROM tasks WHERE state = 'Completed'") >= 64
                     && inspectorWhileRunning.Scalar<long>("SELECT count(*) FROM tasks WHERE state = 'Running'") > 0)
                   && DateTime.UtcNow < deadline)
            {
                await Task.Delay(50);
            }

            doomed.Kill(); // SIGKILL: no shutdown code runs, leases are left as they were
            await doomed.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
        }

        var inspector = new StoreInspector(store);
        Assert.Equal(1000, inspector.Scalar<long>("SELECT count(*) FROM tasks"));
        Assert.True(inspector.Scalar<long>("SELECT count(*) FROM tasks WHERE state = 'Running'") > 0, "the kill should catch calls mid-run");

        // The recovering process waits for the tasks: the wait runs those nobody holds, taking the dead
        // process's at once (its pid is gone from this machine), not when their leases run out.
        var recovery = Pwsh.Command("""
            $done = Get-LlmTask -Name crash | Wait-LlmTask -Timeout 300
            "completed=$(@($done | Where-Object State -eq 'Completed').Count)"
            """, store, timeoutSeconds: 360, environment: Wide);
        Assert.True(recovery.ExitCode == 0, recovery.Errors);
        Assert.Contains("completed=1000", recovery.Output);

        Assert.Equal("ok", inspector.IntegrityCheck());
        Assert.Equal(1000, inspector.Scalar<long>("SELECT count(*) FROM tasks WHERE state = 'Completed' AND output = prompt"));
        // Exactly one successful call per task; interrupted calls are on record as such.
        Assert.Equal(0, inspector.Scalar<long>("SELECT count(*) FROM (SELECT task_id FROM attempts WHERE outcome = 'Succeeded' GROUP BY task_id HAVING count(*) <> 1) AS twice"));
        Assert.Equal(1000, inspector.Scalar<long>("SELECT count(DISTINCT task_id) FROM attempts WHERE outcome = 'Succeeded'"));
        Assert.Equal(0, inspector.Scalar<long>("SELECT count(*) FROM attempts WHERE outcome = 'Discarded'"));
        Assert.True(inspector.Scalar<long>("SELECT count(*) FROM attempts WHERE outcome = 'Interrupted'") > 0);
        Assert.Equal(0, inspector.Scalar<long>("SELECT count(*) FROM tasks WHERE attempts <> (SELECT count(*) FROM attempts a WHERE a.task_id = tasks.id)"));
    }

    [Theory]
    [InlineData("sqlite")]
    [InlineData("postgres")]
    public async Task Four_processes_share_one_store_and_run_10000_tasks_exactly_once_without_lock_errors(string backend)
    {
        var store = _stores.New(backend, "shared");
        // Two processes start their share slowly and leave early (handing unstarted work back to the
        // store); two start theirs and stay until every task of the store is finished, taking over
        // what the others left: one by waiting for all the store's tasks (a wait runs the ones nobody
        // holds), one by running the worker until the store is done. Claims, inserts and batched
        // completions all contend for one file.
        const string leaver = """
            $null = 1..2500 | ForEach-Object { "{0}-$_" -f $args[0] } | Start-LlmTask -Model mock/delay:5 -ThrottleLimit 4 -Name shared
            [System.Threading.Thread]::Sleep(1500)
            "left"
            """;
        const string waiter = """
            $null = 1..2500 | ForEach-Object { "{0}-$_" -f $args[0] } | Start-LlmTask -Model mock/echo -ThrottleLimit 16 -Name shared
            $deadline = [datetime]::UtcNow.AddMinutes(4)
            while (@(Get-LlmTask -Name shared).Count -lt 10000 -and [datetime]::UtcNow -lt $deadline) { [System.Threading.Thread]::Sleep(200) }
            $done = Get-LlmTask -Name shared | Wait-LlmTask -Timeout 240
            "completed=$(@($done | Where-Object State -eq 'Completed').Count)"
            """;
        const string worker = """
            $null = 1..2500 | ForEach-Object { "{0}-$_" -f $args[0] } | Start-LlmTask -Model mock/echo -ThrottleLimit 16 -Name shared
            $deadline = [datetime]::UtcNow.AddMinutes(4)
            while ((@(Get-LlmTask -Name shared).Count -lt 10000 -or @(Get-LlmTask -State Pending, Running).Count -gt 0) -and [datetime]::UtcNow -lt $deadline) {
                $null = Invoke-LlmTaskWorker -UntilEmpty # what nobody holds; its own started tasks keep running meanwhile
                [System.Threading.Thread]::Sleep(200)
            }
            "completed=$(@(Get-LlmTask -State Completed).Count)" # every task of this store is a shared one
            """;
        var processes = new[] { ("a", leaver), ("b", leaver), ("c", worker), ("d", waiter) }
            // The default 30 s lease: the leavers hand their work back when they exit, so nothing here waits for
            // a lease to expire, and a short one could expire under load and (rightly, at least once) re-run a call.
            .Select(p => Pwsh.Start(["-Command", p.Item2.Replace("$args[0]", $"'{p.Item1}'")], Pwsh.WithStore(store)))
            .ToList();
        var outputs = processes.Select(p => (Out: p.StandardOutput.ReadToEndAsync(), Err: p.StandardError.ReadToEndAsync())).ToList();
        try
        {
            await Task.WhenAll(processes.Select(p => p.WaitForExitAsync())).WaitAsync(TimeSpan.FromMinutes(5));
        }
        catch (TimeoutException)
        {
            processes.ForEach(p => p.Kill(entireProcessTree: true));
            Assert.Fail("a process did not finish within 5 minutes");
        }

        for (var i = 0; i < processes.Count; i++)
        {
            var errors = await outputs[i].Err;
            Assert.True(processes[i].ExitCode == 0, $"process {i}: {errors}");
            Assert.DoesNotContain("locked", errors, StringComparison.OrdinalIgnoreCase);
            Assert.True(string.IsNullOrWhiteSpace(errors), $"process {i} wrote errors: {errors}");
            processes[i].Dispose();
        }

        Assert.Contains("completed=10000", await outputs[2].Out);
        Assert.Contains("completed=10000", await outputs[3].Out);
        var inspector = new StoreInspector(store);
        Assert.Equal("ok", inspector.IntegrityCheck());
        Assert.Equal(10000, inspector.Scalar<long>("SELECT count(*) FROM tasks WHERE state = 'Completed' AND output = prompt"));
        Assert.Equal(10000, inspector.Scalar<long>("SELECT count(DISTINCT prompt) FROM tasks"));
        Assert.Equal(10000, inspector.Scalar<long>("SELECT count(*) FROM attempts WHERE outcome = 'Succeeded'"));
        Assert.Equal(10000, inspector.Scalar<long>("SELECT count(DISTINCT task_id) FROM attempts WHERE outcome = 'Succeeded'"));
        Assert.Equal(0, inspector.Scalar<long>("SELECT count(*) FROM attempts WHERE outcome = 'Discarded'"));
        Assert.True(inspector.Scalar<long>("SELECT count(DISTINCT owner) FROM attempts") >= 3, "work should spread over the processes");
    }
}

using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Management.Automation;

namespace LlmTasks.PowerShell.Tests;

/// <summary>
/// How work changes hands between real pwsh processes: a process told to end (SIGTERM, SIGHUP) or a
/// worker stopped (Ctrl+C, SIGTERM) hands its tasks back; a process killed outright (SIGKILL, or by
/// Start-Job's clean-up) has its tasks taken over by a wait on the same machine at once. Every test here
/// runs with a 600 s lease: nothing in them can be explained by a lease running out.
/// </summary>
public sealed class HandOverTests : IDisposable
{
    private const int SigHup = 1;
    private const int SigInt = 2;
    private const int SigTerm = 15;
    private static readonly Dictionary<string, string?> LongLease = new() { ["LLMTASKS_LEASE_SECONDS"] = "600" };
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "llmtasks-handover", Guid.NewGuid().ToString("N"));

    public HandOverTests() => Directory.CreateDirectory(_folder);

    public void Dispose()
    {
        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);

    private static void Signal(Process process, int signal) =>
        Assert.True(Kill(process.Id, signal) == 0, $"kill({process.Id}, {signal}) failed: errno {Marshal.GetLastPInvokeError()}");

    private static bool Eventually(Func<bool> condition, int seconds = 60) => SpinWait.SpinUntil(() =>
    {
        if (condition())
        {
            return true;
        }

        Thread.Sleep(100);
        return false;
    }, TimeSpan.FromSeconds(seconds));

    private static async Task ExitsAsync(Process process, int seconds = 60)
    {
        try
        {
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(seconds));
        }
        catch (TimeoutException)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"pwsh did not exit within {seconds} s; stderr: {await process.StandardError.ReadToEndAsync()}");
        }
    }

    /// <summary>
    /// Left-over work as a session that exited leaves it: Pending, unleased, never started (queued behind
    /// a call that held the session's only slot; that one is then marked Cancelled, as Stop-LlmTask would).
    /// </summary>
    private static void LeaveWork(string store, int count, string model = "mock/delay:60000")
    {
        var seeded = Pwsh.Command($$"""
            $null = Start-LlmTask blocker -Model mock/delay:600000 -Name blocker -ThrottleLimit 1
            $null = 1..{{count}} | ForEach-Object { "left $_" } | Start-LlmTask -Model {{model}} -Name left
            """, store);
        Assert.True(seeded.ExitCode == 0, seeded.Errors);
        using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={store};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "UPDATE tasks SET state = 'Cancelled', completed_at = 1 WHERE name = 'blocker'";
        command.ExecuteNonQuery();
        Assert.Equal(count, new StoreInspector(store).Scalar<long>("SELECT count(*) FROM tasks WHERE state = 'Pending' AND lease_owner IS NULL AND attempts = 0"));
    }

    [Theory]
    [InlineData(SigTerm)] // systemctl stop, docker stop, kill
    [InlineData(SigHup)] // the terminal went away
    public async Task A_process_told_to_end_by_SIGTERM_or_SIGHUP_hands_its_work_back(int signal)
    {
        var store = Path.Combine(_folder, $"signal{signal}.db");
        using var process = Pwsh.Start(["-Command", """
            $null = 1..6 | ForEach-Object { "t$_" } | Start-LlmTask -Model mock/delay:60000 -ThrottleLimit 4
            'started'
            Start-Sleep 300
            """], Pwsh.WithStore(store, LongLease));
        Assert.Equal("started", await process.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(120)));
        var inspector = new StoreInspector(store);
        Assert.True(Eventually(() => inspector.Scalar<long>("SELECT count(*) FROM tasks WHERE state = 'Running'") == 4), "four calls should be running");

        Signal(process, signal);
        await ExitsAsync(process);

        // No other process ran: the store says what the ending process wrote on its way out.
        Assert.Equal(6, inspector.Scalar<long>("SELECT count(*) FROM tasks WHERE state = 'Pending' AND lease_owner IS NULL"));
        Assert.Equal(4, inspector.Scalar<long>("SELECT count(*) FROM attempts WHERE outcome = 'Interrupted' AND error LIKE '%shut down%'"));
        Assert.Equal(4, inspector.Scalar<long>("SELECT sum(attempts) FROM tasks"));
    }

    [Theory]
    [InlineData(SigInt)] // Ctrl+C in the terminal that runs it
    [InlineData(SigTerm)] // systemctl stop
    public async Task The_worker_stops_on_Ctrl_C_or_SIGTERM_and_hands_back_what_it_holds(int signal)
    {
        var store = Path.Combine(_folder, $"worker{signal}.db");
        LeaveWork(store, 6);
        var inspector = new StoreInspector(store);

        using var worker = Pwsh.Start(["-Command", "Invoke-LlmTaskWorker -ThrottleLimit 4"], Pwsh.WithStore(store, LongLease));
        Assert.True(Eventually(() => inspector.Scalar<long>("SELECT count(*) FROM tasks WHERE state = 'Running'") == 4), "the worker should run four calls");
        Assert.Equal(6, inspector.Scalar<long>("SELECT count(*) FROM tasks WHERE lease_owner IS NOT NULL")); // it claimed all six

        Signal(worker, signal);
        await ExitsAsync(worker);

        Assert.Equal(6, inspector.Scalar<long>("SELECT count(*) FROM tasks WHERE state = 'Pending' AND lease_owner IS NULL"));
        Assert.Equal(4, inspector.Scalar<long>("SELECT count(*) FROM attempts WHERE task_id IN (SELECT id FROM tasks WHERE name = 'left')"));
        Assert.Equal(4, inspector.Scalar<long>($"SELECT count(*) FROM attempts WHERE outcome = 'Interrupted' AND owner LIKE '%:{worker.Id}:%'"));
    }

    [Fact]
    public void The_worker_run_until_empty_as_a_pipeline_step_drains_the_queue_and_writes_its_summary()
    {
        var store = Path.Combine(_folder, "ci.db");
        LeaveWork(store, 20, "mock/delay:50");
        var step = Pwsh.Command("""
            $summary = Invoke-LlmTaskWorker -UntilEmpty
            "completed=$($summary.Completed) failed=$($summary.Failed) claimed=$($summary.Claimed) end=$($summary.EndReason)"
            if ($summary.Failed -gt 0) { exit 1 }
            """, store, environment: LongLease);
        Assert.True(step.ExitCode == 0, step.Output + step.Errors);
        Assert.Contains("completed=20 failed=0 claimed=20 end=QueueEmpty", step.Output);
        Assert.Equal(20, new StoreInspector(store).Scalar<long>("SELECT count(*) FROM tasks WHERE state = 'Completed' AND output = prompt"));
    }

    [Fact]
    public async Task A_wait_says_which_live_process_holds_its_tasks_and_takes_them_over_at_once_when_it_is_killed()
    {
        var store = Path.Combine(_folder, "held.db");
        using var holder = Pwsh.Start(["-Command", """
            $null = 1..3 | ForEach-Object { "held $_" } | Start-LlmTask -Model mock/delay:15000 -Name held
            'started'
            Start-Sleep 300
            """], Pwsh.WithStore(store, LongLease));
        Assert.Equal("started", await holder.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(120)));

        using var session = new PowerShellSession(store);
        using var wait = session.Begin("Get-LlmTask -Name held | Wait-LlmTask -Verbose", out var pending);
        var heldBy = $"held by process {holder.Id} on {Environment.MachineName}";
        Assert.True(Eventually(() => wait.Streams.Progress.ToArray().Any(p => p.CurrentOperation?.Contains(heldBy) == true), 30),
            "the wait's progress should name the process that holds its tasks: " + string.Join(" | ", wait.Streams.Progress.Select(p => p.CurrentOperation)));
        Assert.True(Eventually(() => wait.Streams.Verbose.ToArray().Any(v => v.Message.Contains(heldBy) && v.Message.Contains("lease until")), 30),
            "-Verbose should say who holds the tasks: " + string.Join(" | ", wait.Streams.Verbose.Select(v => v.Message)));
        Assert.False(pending.IsCompleted);

        holder.Kill(); // SIGKILL: no code of its runs; its leases have ten minutes left
        await ExitsAsync(holder);
        var killed = Stopwatch.StartNew();
        Assert.True(pending.AsyncWaitHandle.WaitOne(TimeSpan.FromSeconds(120)), "the wait should take the tasks over and finish them");
        var took = killed.Elapsed;

        var done = wait.EndInvoke(pending);
        Assert.Equal(3, done.Count);
        Assert.All(done, t => Assert.Equal("Completed", t.Properties["State"].Value.ToString()));
        var inspector = new StoreInspector(store);
        Assert.Equal(3, inspector.Scalar<long>($"SELECT count(*) FROM attempts WHERE outcome = 'Interrupted' AND error LIKE '%no longer running%' AND owner LIKE '%:{holder.Id}:%'"));
        Assert.Contains(wait.Streams.Verbose.ToArray(), v => v.Message.Contains($"from process {holder.Id} on") && v.Message.Contains("no longer running"));
        Console.WriteLine($"hand-over after SIGKILL, calls of 15 s included: {took.TotalSeconds:0.0} s");
    }

    [Theory]
    [InlineData("$job | Stop-Job")]
    [InlineData("$job | Remove-Job -Force")]
    public void Tasks_of_a_Start_Job_that_is_stopped_or_removed_are_taken_over_at_once(string end)
    {
        var store = Path.Combine(_folder, "job.db");
        var run = Pwsh.Command($$"""
            $job = Start-Job { $null = 1..4 | ForEach-Object { "job $_" } | Start-LlmTask -Model mock/delay:10000 -Name job; 'started'; Start-Sleep 300 }
            while (-not ($job | Receive-Job -Keep | Where-Object { $_ -eq 'started' })) { Start-Sleep -Milliseconds 100 }
            # Mid-call, as the test means: on a loaded machine the calls may not have begun when Start-LlmTask returned
            # (and calls of 10 s do not end while this looks).
            while (@(Get-LlmTask -Name job -State Running).Count -lt 4) { Start-Sleep -Milliseconds 50 }
            {{end}}
            $done = Get-LlmTask -Name job | Wait-LlmTask -Timeout 120
            "completed=$(@($done | Where-Object State -eq 'Completed').Count)"
            """, store, timeoutSeconds: 240, environment: LongLease);
        Assert.True(run.ExitCode == 0, run.Errors);
        Assert.Contains("completed=4", run.Output);
        // The job's process ended mid-call: its calls are on record as Interrupted, either handed back by the
        // job's runspace closing as the job stops (the module releases with its last runspace), or taken over
        // because its process is gone (PowerShell then kills it) — never left to wait for the 600 s lease.
        var inspector = new StoreInspector(store);
        Assert.True(4 == inspector.Scalar<long>("SELECT count(*) FROM attempts WHERE outcome = 'Interrupted' AND (error LIKE '%no longer running%' OR error LIKE '%shut down%')"),
            "attempts: " + inspector.Scalar<string>("SELECT coalesce(group_concat(task_id || ' ' || outcome || ' ' || coalesce(error, ''), ' | '), 'none') FROM attempts") + "\n" + run.Output);
    }

    [Fact]
    public void Tasks_of_a_Start_Job_whose_parent_exited_are_taken_over_at_once_by_the_next_wait()
    {
        var store = Path.Combine(_folder, "orphan.db");
        var parent = Pwsh.Command("""
            $job = Start-Job { $null = 1..4 | ForEach-Object { "job $_" } | Start-LlmTask -Model mock/delay:2000 -Name job; 'started'; Start-Sleep 300 }
            while (-not ($job | Receive-Job -Keep | Where-Object { $_ -eq 'started' })) { Start-Sleep -Milliseconds 100 }
            'exiting with the job running'
            """, store, environment: LongLease);
        Assert.True(parent.ExitCode == 0, parent.Errors);

        var next = Pwsh.Command("""
            $done = Get-LlmTask -Name job | Wait-LlmTask -Timeout 120
            "completed=$(@($done | Where-Object State -eq 'Completed').Count)"
            """, store, timeoutSeconds: 180, environment: LongLease);
        Assert.True(next.ExitCode == 0, next.Errors);
        Assert.Contains("completed=4", next.Output);
        Assert.Equal(4, new StoreInspector(store).Scalar<long>("SELECT count(*) FROM attempts WHERE outcome = 'Interrupted'"));
    }
}

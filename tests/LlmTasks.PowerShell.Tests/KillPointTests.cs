using System.Diagnostics;
using System.Runtime.InteropServices;

namespace LlmTasks.PowerShell.Tests;

/// <summary>
/// The adversarial test's kill -9 points, kept in the suite (CI-sized): a real pwsh is killed with SIGKILL while it inserts
/// tasks, while its store worker commits batches of results, while script-block checks run, and while it hands its work back
/// after a SIGTERM. Whatever it was doing, the store passes its integrity check, every task it reported as started is there,
/// no task completes twice, and the next process (another real pwsh) completes them all. (A kill mid-call is in
/// DurabilityTests, a kill of a max/* run in CliProcessTreeTests.) They run on their own (<see cref="HeavyProcesses"/>): bursts of
/// thousands of tasks would starve the timing of the hand-over tests running beside them.
/// </summary>
[Collection(nameof(HeavyProcesses))]
public sealed class KillPointTests : IDisposable
{
    private const int SigTerm = 15;
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "llmtasks-killpoints", Guid.NewGuid().ToString("N"));

    public KillPointTests() => Directory.CreateDirectory(_folder);

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

    /// <summary>Every process of a test signs with the same (test-private) key: they are one user's sessions.</summary>
    private Dictionary<string, string?> Environment(params (string Name, string? Value)[] more)
    {
        var environment = new Dictionary<string, string?>
        {
            ["LLMTASKS_SIGNING_KEY_FILE"] = Path.Combine(_folder, "user.key"),
            ["LLMTASKS_THROTTLE_LIMIT"] = "16",
        };
        foreach (var (name, value) in more)
        {
            environment[name] = value;
        }

        return environment;
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int KillProcess(int pid, int signal);

    private static bool Eventually(Func<bool> condition, int seconds = 120) => SpinWait.SpinUntil(() =>
    {
        if (condition())
        {
            return true;
        }

        Thread.Sleep(20);
        return false;
    }, TimeSpan.FromSeconds(seconds));

    private static async Task KillAsync(Process process)
    {
        process.Kill(); // SIGKILL: no shutdown code runs
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
    }

    /// <summary>What must hold after any kill, before and after recovery: a sound store, no task completed twice, attempt counts that match their rows.</summary>
    private static void AssertConsistent(StoreInspector db)
    {
        Assert.Equal("ok", db.IntegrityCheck());
        Assert.Equal(0L, db.Scalar<long>("SELECT count(*) FROM (SELECT task_id FROM attempts WHERE outcome = 'Succeeded' GROUP BY task_id HAVING count(*) > 1)"));
        Assert.Equal(0L, db.Scalar<long>("SELECT count(*) FROM tasks WHERE state = 'Completed' AND (output IS NULL OR output <> prompt)"));
        Assert.Equal(0L, db.Scalar<long>("SELECT count(*) FROM tasks WHERE attempts <> (SELECT count(*) FROM attempts a WHERE a.task_id = tasks.id)"));
    }

    /// <summary>Another real pwsh waits for every task of the name; all complete, each with exactly one successful call.</summary>
    private void Recover(string store, string name, long expected, IDictionary<string, string?> environment)
    {
        var recovery = Pwsh.Command($"""
            $done = Get-LlmTask -Name {name} | Wait-LlmTask -Timeout 400
            "completed=$(@($done | Where-Object State -eq 'Completed').Count)"
            """, store, timeoutSeconds: 450, environment: environment);
        Assert.True(recovery.ExitCode == 0, recovery.Output + recovery.Errors);
        Assert.Contains($"completed={expected}", recovery.Output);
        var db = new StoreInspector(store);
        AssertConsistent(db);
        Assert.Equal(expected, db.Scalar<long>("SELECT count(DISTINCT task_id) FROM attempts WHERE outcome = 'Succeeded'"));
        Assert.Equal(0L, db.Scalar<long>("SELECT count(*) FROM tasks WHERE state NOT IN ('Completed')"));
    }

    [Fact]
    public async Task A_kill_while_tasks_are_inserted_loses_none_that_was_reported_started_and_leaves_no_half_task()
    {
        var store = Path.Combine(_folder, "insert.db");
        var environment = Environment();
        // Each task's id is written as soon as Start-LlmTask returns it; the kill comes in the middle of the stream.
        using (var shell = Pwsh.Start(["-Command", """
            1..2000 | ForEach-Object { "insert $_" } | Start-LlmTask -Model mock/echo -Name insert | ForEach-Object { [Console]::Out.WriteLine($_.Id); [Console]::Out.Flush() }
            'all started'
            Start-Sleep 300
            """], Pwsh.WithStore(store, environment)))
        {
            var reported = new List<long>();
            while (reported.Count < 150)
            {
                var line = await shell.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(120));
                Assert.NotNull(line);
                Assert.NotEqual("all started", line);
                reported.Add(long.Parse(line));
            }

            await KillAsync(shell);

            var db = new StoreInspector(store);
            AssertConsistent(db);
            var stored = db.Scalar<long>("SELECT count(*) FROM tasks WHERE name = 'insert'");
            Assert.True(stored >= reported.Count, $"{reported.Count} tasks were reported started, {stored} are stored");
            Assert.Equal((long)reported.Count, db.Scalar<long>($"SELECT count(*) FROM tasks WHERE id IN ({string.Join(',', reported)})"));
            Assert.Equal(0L, db.Scalar<long>("SELECT count(*) FROM tasks WHERE prompt IS NULL OR prompt NOT LIKE 'insert %'"));
            Recover(store, "insert", stored, environment);
        }
    }

    [Fact]
    public async Task A_kill_while_the_store_worker_commits_batches_of_results_keeps_the_store_sound_and_completes_nothing_twice()
    {
        var store = Path.Combine(_folder, "commit.db");
        var environment = Environment(("LLMTASKS_THROTTLE_LIMIT", "32"));
        using (var shell = Pwsh.Start(["-Command", """
            $null = 1..1500 | ForEach-Object { "commit $_" } | Start-LlmTask -Model mock/echo -Name commit
            'started'
            Start-Sleep 300
            """], Pwsh.WithStore(store, environment)))
        {
            Assert.Equal("started", await shell.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(120)));
            var db = new StoreInspector(store);
            // Results pour in (mock/echo answers at once): the kill lands while batch after batch is committed.
            Assert.True(Eventually(() => db.Scalar<long>("SELECT count(*) FROM tasks WHERE state = 'Completed'") >= 100), "no results were committed");
            await KillAsync(shell);

            AssertConsistent(db);
            Assert.Equal(1500L, db.Scalar<long>("SELECT count(*) FROM tasks WHERE name = 'commit'"));
            Recover(store, "commit", 1500, environment);
        }
    }

    [Fact]
    public async Task A_kill_while_script_block_checks_run_stores_no_verdict_and_the_next_session_checks_them_without_the_opt_in()
    {
        var store = Path.Combine(_folder, "checks.db");
        var environment = Environment();
        // The check sleeps only where $env:LLMTASKS_TEST_SLOW_CHECK is set: in the process that is killed.
        using (var shell = Pwsh.Start(["-Command", """
            $check = { param($Output) if ($env:LLMTASKS_TEST_SLOW_CHECK) { Start-Sleep -Seconds 120 }; $true }
            $null = 1..12 | ForEach-Object { "checks $_" } | Start-LlmTask -Model mock/echo -Name checks -Verify $check -ThrottleLimit 6
            'started'
            Start-Sleep 300
            """], Pwsh.WithStore(store, Environment(("LLMTASKS_TEST_SLOW_CHECK", "1")))))
        {
            Assert.Equal("started", await shell.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(120)));
            var db = new StoreInspector(store);
            // mock/echo answers at once: six running tasks are six checks in progress.
            Assert.True(Eventually(() => db.Scalar<long>("SELECT count(*) FROM tasks WHERE state = 'Running'") == 6), "six checks should be running");
            await KillAsync(shell);

            AssertConsistent(db);
            Assert.Equal(0L, db.Scalar<long>("SELECT count(*) FROM tasks WHERE state IN ('NeedsReview', 'Failed', 'Completed')"));
            Assert.Equal(0L, db.Scalar<long>("SELECT count(*) FROM checks"));
        }

        // No $env:LLMTASKS_RUN_STORED_SCRIPTS: the blocks are the user's own (signed), so the next session runs them.
        Recover(store, "checks", 12, environment);
        var after = new StoreInspector(store);
        Assert.Equal(0L, after.Scalar<long>("SELECT count(*) FROM checks WHERE passed = 0"));
        Assert.True(after.Scalar<long>("SELECT count(*) FROM checks WHERE passed = 1") >= 12);
    }

    [Fact]
    public async Task A_kill_while_a_terminated_shell_hands_its_work_back_leaves_every_task_to_run_once()
    {
        var store = Path.Combine(_folder, "handback.db");
        var environment = Environment(("LLMTASKS_LEASE_SECONDS", "600"));
        using (var shell = Pwsh.Start(["-Command", """
            $null = 1..24 | ForEach-Object { "handback $_" } | Start-LlmTask -Model mock/delay:2000 -Name handback -ThrottleLimit 8
            'started'
            Start-Sleep 300
            """], Pwsh.WithStore(store, environment)))
        {
            Assert.Equal("started", await shell.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(120)));
            var db = new StoreInspector(store);
            Assert.True(Eventually(() => db.Scalar<long>("SELECT count(*) FROM tasks WHERE state = 'Running'") == 8), "eight calls should be running");

            // SIGTERM starts the hand-back (interrupted attempts, leases released); SIGKILL cuts it short.
            Assert.Equal(0, KillProcess(shell.Id, SigTerm));
            Thread.Sleep(30);
            if (!shell.HasExited)
            {
                await KillAsync(shell);
            }

            await shell.WaitForExitAsync();
            AssertConsistent(db);
            Assert.Equal(24L, db.Scalar<long>("SELECT count(*) FROM tasks WHERE name = 'handback'"));
        }

        Recover(store, "handback", 24, environment);
    }
}

using System.Diagnostics;
using Npgsql;

namespace LlmTasks.Bench.Scenarios;

/// <summary>
/// Scenario 7: throughput of 1, 2 and 4 worker processes (Invoke-LlmTaskWorker -UntilEmpty, each in a process of
/// its own with the module imported) draining one PostgreSQL store of latency-bound tasks: calls to the loopback
/// OpenAI-style endpoint that answers after a fixed delay. Each process runs -ThrottleLimit calls at once, so the
/// ideal is k times one worker's throughput.
/// </summary>
internal static class Workers
{
    private const string Drain = """
        param($store, $limit, $go)
        while (-not [System.IO.File]::Exists($go)) { [System.Threading.Thread]::Sleep(5) }
        $s = Invoke-LlmTaskWorker -StorePath $store -UntilEmpty -ThrottleLimit $limit
        $s.Completed
        """;

    public static ScenarioResult Run(BenchOptions o, Workspace work) => RunAsync(o, work).GetAwaiter().GetResult();

    /// <summary>
    /// One worker process: drains its own warm-up store first when it has one (so its call path is compiled and its
    /// connections are open, as in a worker that has been running a while), waits for the go file, drains the store,
    /// prints how many it completed.
    /// </summary>
    public static int RunDrain(BenchOptions o)
    {
        using var ps = new PsSession();
        if (o.DrainWarmStore is { } warm)
        {
            ps.Run("param($store, $limit) $null = Invoke-LlmTaskWorker -StorePath $store -UntilEmpty -ThrottleLimit $limit", warm, o.WorkerLimit);
        }

        Console.Out.WriteLine("ready");
        Console.Out.Flush();
        var completed = ps.Numbers(Drain, o.DrainStore, o.WorkerLimit, o.DrainGo);
        Console.Out.WriteLine($"completed {completed[0]}");
        return 0;
    }

    private static async Task<ScenarioResult> RunAsync(BenchOptions o, Workspace work)
    {
        if (!Workspace.OnPostgres)
        {
            throw new InvalidOperationException("The workers scenario runs on PostgreSQL (the bench runs it there).");
        }

        var n = o.WorkerTasks;
        await using var endpoint = await ChatEndpoint.StartAsync(TimeSpan.FromMilliseconds(o.LatencyMs));
        using var ps = new PsSession();
        var counts = o.WorkerCounts;
        var cold = counts.ToDictionary(k => k, _ => new List<double>());
        var warm = counts.ToDictionary(k => k, _ => new List<double>());
        for (var run = 0; run <= o.Runs; run++)
        {
            foreach (var k in counts)
            {
                foreach (var warmed in new[] { false, true })
                {
                    var store = work.NewStore();
                    Seed(ps, store, n, endpoint.ApiBase);
                    var warmStores = new string[warmed ? k : 0];
                    for (var i = 0; i < warmStores.Length; i++)
                    {
                        warmStores[i] = work.NewStore();
                        Seed(ps, warmStores[i], o.WorkerWarmup, endpoint.ApiBase);
                    }

                    var ms = DrainWith(k, store, warmStores, o, work, n, endpoint);
                    if (run > 0)
                    {
                        (warmed ? warm : cold)[k].Add(ms);
                        Console.Error.WriteLine($"  run {run}: {k} worker(s), {(warmed ? "warm" : "cold")}: {ms:0} ms ({n / (ms / 1000):0} tasks/s, peak {endpoint.Peak} calls at once)");
                    }
                }
            }
        }

        var coldOne = Stats.Of(cold[counts[0]]).Median;
        var warmOne = Stats.Of(warm[counts[0]]).Median;
        var ideal1 = Math.Ceiling(n / (double)o.WorkerLimit) * o.LatencyMs;
        var result = new ScenarioResult { Title = $"Workers: {Format.Int(n)} latency-bound tasks ({o.LatencyMs} ms each) drained by {string.Join(", ", counts)} worker processes (PostgreSQL)" };
        var table = new Table
        {
            Caption = $"Each worker is a process of its own running `Invoke-LlmTaskWorker -UntilEmpty -ThrottleLimit {o.WorkerLimit}` on one PostgreSQL store " +
                      $"(the bench's own PostgreSQL 15 server, 127.0.0.1) seeded with {Format.Int(n)} Pending tasks; the loopback endpoint answers each call after {o.LatencyMs} ms. " +
                      "Timed from the moment every worker is ready until the last task is Completed. **Cold**: ready once the module is imported, so each process compiles " +
                      $"its call path while it drains (what a freshly started worker costs). **Warm**: each process first drained {Format.Int(o.WorkerWarmup)} tasks of a store of its own " +
                      $"(a worker that has been running a while: a fleet's throughput). One worker's ideal: ⌈{n}/{o.WorkerLimit}⌉ × {o.LatencyMs} ms = {ideal1:0} ms. {o.Runs} runs after a warm-up.",
            Columns = ["workers", "cold: wall time ms, median (min–max)", "cold: tasks/s", $"cold: speed-up vs {counts[0]}", "warm: wall time ms, median (min–max)", "warm: tasks/s", $"warm: speed-up vs {counts[0]}", "ideal speed-up"],
        };
        foreach (var k in counts)
        {
            var c = Stats.Of(cold[k]);
            var w = Stats.Of(warm[k]);
            table.Add(k.ToString(System.Globalization.CultureInfo.InvariantCulture),
                c.Show("0"), Format.N(n / (c.Median / 1000), "0"), Format.N(coldOne / c.Median, "0.00") + "×",
                w.Show("0"), Format.N(n / (w.Median / 1000), "0"), Format.N(warmOne / w.Median, "0.00") + "×",
                Format.N(k / (double)counts[0], "0.##") + "×");
        }

        result.Tables.Add(table);
        if (counts[0] != 1 || !cold.ContainsKey(4))
        {
            return result; // the target compares 4 workers with 1
        }

        var warmFour = warmOne / Stats.Of(warm[4]).Median;
        var coldFour = coldOne / Stats.Of(cold[4]).Median;
        result.Targets.Add(new TargetCheck("4 worker processes vs 1 (latency-bound, PostgreSQL), warm: throughput of running workers", Format.N(warmFour, "0.00") + "×", "≥ 3.5×", warmFour >= 3.5));
        result.Targets.Add(new TargetCheck("4 worker processes vs 1, cold: each timed from its module import (start-up included)", Format.N(coldFour, "0.00") + "×", "≥ 3.5×", coldFour >= 3.5));
        return result;
    }

    /// <summary>
    /// n Pending tasks: one real task stored by Start-LlmTask (its request as the cmdlet writes it), copied n times in
    /// one statement with prompts of their own, as scenario 4 seeds its store; then the original is removed.
    /// </summary>
    private static void Seed(PsSession ps, string store, int n, string apiBase)
    {
        ps.Run("param($store, $apiBase) $null = Start-LlmTask -Prompt seed -Model vllm/bench -ApiBase $apiBase -Name seed -StorePath $store -Wait", store, apiBase);
        using var connection = new NpgsqlConnection(store);
        connection.Open();
        using var command = new NpgsqlCommand("""
            INSERT INTO llmtasks.tasks (instance_id, name, state, model, provider, prompt, request_json, created_at)
            SELECT gen_random_uuid()::text, 'bench', 'Pending', t.model, t.provider, 'question ' || g, t.request_json, t.created_at + g
            FROM llmtasks.tasks t, generate_series(1, @n) AS g WHERE t.name = 'seed';
            DELETE FROM llmtasks.tasks WHERE name = 'seed';
            """, connection);
        command.Parameters.AddWithValue("n", n);
        command.ExecuteNonQuery();
    }

    private static double DrainWith(int k, string store, string[] warmStores, BenchOptions o, Workspace work, int n, ChatEndpoint endpoint)
    {
        var go = Path.Combine(work.Folder, $"go-{Guid.NewGuid():N}");
        var processes = new List<Process>();
        try
        {
            for (var i = 0; i < k; i++)
            {
                var start = new ProcessStartInfo(Environment.ProcessPath!) { UseShellExecute = false, RedirectStandardOutput = true };
                if (Path.GetFileNameWithoutExtension(Environment.ProcessPath!) == "dotnet")
                {
                    start.ArgumentList.Add(typeof(Workers).Assembly.Location);
                }

                foreach (var a in new[] { "--worker", "drain", "--drain-store", store, "--drain-go", go, "--worker-limit", o.WorkerLimit.ToString(System.Globalization.CultureInfo.InvariantCulture) })
                {
                    start.ArgumentList.Add(a);
                }

                if (warmStores.Length > 0)
                {
                    start.ArgumentList.Add("--drain-warm-store");
                    start.ArgumentList.Add(warmStores[i]);
                }

                processes.Add(Process.Start(start)!);
            }

            foreach (var p in processes)
            {
                if (p.StandardOutput.ReadLine() != "ready")
                {
                    throw new InvalidOperationException("A worker process did not start.");
                }
            }

            endpoint.ResetCounters(); // the warm-up drains' calls are not the run's
            var clock = Stopwatch.StartNew();
            File.WriteAllText(go, string.Empty);
            using var connection = new NpgsqlConnection(store);
            connection.Open();
            using var count = new NpgsqlCommand("SELECT count(*) FROM llmtasks.tasks WHERE state = 'Completed'", connection);
            while ((long)count.ExecuteScalar()! < n)
            {
                if (clock.Elapsed > TimeSpan.FromMinutes(10) || processes.All(p => p.HasExited))
                {
                    throw new InvalidOperationException($"{k} workers left {n - (long)count.ExecuteScalar()!} tasks unfinished.");
                }

                Thread.Sleep(5);
            }

            var ms = clock.Elapsed.TotalMilliseconds;
            var completed = processes.Sum(p =>
            {
                var line = p.StandardOutput.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries).LastOrDefault() ?? string.Empty;
                p.WaitForExit();
                return line.StartsWith("completed ", StringComparison.Ordinal) ? int.Parse(line[10..], System.Globalization.CultureInfo.InvariantCulture) : 0;
            });
            if (completed != n)
            {
                throw new InvalidOperationException($"{k} workers say they completed {completed} of {n} tasks.");
            }

            if (endpoint.Requests != n)
            {
                throw new InvalidOperationException($"{k} workers: {endpoint.Requests} requests served for {n} tasks.");
            }

            return ms;
        }
        finally
        {
            foreach (var p in processes)
            {
                if (!p.HasExited)
                {
                    p.Kill();
                }

                p.Dispose();
            }
        }
    }
}

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

    /// <summary>One worker process: waits for the go file, drains the store, prints how many it completed.</summary>
    public static int RunDrain(BenchOptions o)
    {
        using var ps = new PsSession();
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
        var times = counts.ToDictionary(k => k, _ => new List<double>());
        for (var run = 0; run <= o.Runs; run++)
        {
            foreach (var k in counts)
            {
                var store = work.NewStore();
                Seed(ps, store, n, endpoint.ApiBase);
                endpoint.ResetCounters();
                var ms = DrainWith(k, store, o, work, n);
                if (endpoint.Requests != n)
                {
                    throw new InvalidOperationException($"{k} workers: {endpoint.Requests} requests served for {n} tasks.");
                }

                if (run > 0)
                {
                    times[k].Add(ms);
                    Console.Error.WriteLine($"  run {run}: {k} worker(s): {ms:0} ms ({n / (ms / 1000):0} tasks/s, peak {endpoint.Peak} calls at once)");
                }
            }
        }

        var one = Stats.Of(times[counts[0]]).Median;
        var ideal1 = Math.Ceiling(n / (double)o.WorkerLimit) * o.LatencyMs;
        var result = new ScenarioResult { Title = $"Workers: {Format.Int(n)} latency-bound tasks ({o.LatencyMs} ms each) drained by 1, 2 and 4 worker processes (PostgreSQL)" };
        var table = new Table
        {
            Caption = $"Each worker is a process of its own running `Invoke-LlmTaskWorker -UntilEmpty -ThrottleLimit {o.WorkerLimit}` on one PostgreSQL store " +
                      $"(the bench's own PostgreSQL 15 server, 127.0.0.1) seeded with {Format.Int(n)} Pending tasks; the loopback endpoint answers each call after {o.LatencyMs} ms. " +
                      $"Timed from the moment every worker is ready (module imported) until the last task is Completed. One worker's ideal: ⌈{n}/{o.WorkerLimit}⌉ × {o.LatencyMs} ms = {ideal1:0} ms. {o.Runs} runs after a warm-up.",
            Columns = ["workers", "wall time ms: median (min–max)", "tasks/s", $"speed-up vs {counts[0]}", "ideal speed-up"],
        };
        foreach (var k in counts)
        {
            var s = Stats.Of(times[k]);
            table.Add(k.ToString(System.Globalization.CultureInfo.InvariantCulture), s.Show("0"), Format.N(n / (s.Median / 1000), "0"), Format.N(one / s.Median, "0.00") + "×", Format.N(k / (double)counts[0], "0.##") + "×");
        }

        result.Tables.Add(table);
        if (counts[0] != 1 || !times.TryGetValue(4, out var fourTimes))
        {
            return result; // the target compares 4 workers with 1
        }

        var four = one / Stats.Of(fourTimes).Median;
        result.Targets.Add(new TargetCheck("4 worker processes vs 1 (latency-bound, PostgreSQL)", Format.N(four, "0.00") + "×", "≥ 3.5×", four >= 3.5));
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

    private static double DrainWith(int k, string store, BenchOptions o, Workspace work, int n)
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

                processes.Add(Process.Start(start)!);
            }

            foreach (var p in processes)
            {
                if (p.StandardOutput.ReadLine() != "ready")
                {
                    throw new InvalidOperationException("A worker process did not start.");
                }
            }

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

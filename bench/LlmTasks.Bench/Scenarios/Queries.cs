using Microsoft.Data.Sqlite;

namespace LlmTasks.Bench.Scenarios;

/// <summary>Scenario 4: Get-LlmTask over a store of many tasks, timed through the cmdlets. The store is seeded with SQL, in one transaction.</summary>
internal static class Queries
{
    private const string Timed = """
        param($store, $ids)
        $times = [System.Collections.Generic.List[double]]::new()
        $bad = 0
        foreach ($id in $ids) {
            $sw = [System.Diagnostics.Stopwatch]::StartNew()
            $t = Get-LlmTask -StorePath $store -Id $id
            $times.Add($sw.Elapsed.TotalMilliseconds)
            if ($t.Id -ne $id) { $bad++ }
        }
        $times.Add(-1)
        foreach ($i in 1..$ids.Count) {
            $sw = [System.Diagnostics.Stopwatch]::StartNew()
            $newest = Get-LlmTask -StorePath $store -State Completed -Newest 50
            $times.Add($sw.Elapsed.TotalMilliseconds)
            if ($newest.Count -ne 50) { $bad++ }
            foreach ($t in $newest) { if ($t.State -ne 'Completed') { $bad++ } }
        }
        $times.Add($bad)
        $times
        """;

    public static ScenarioResult Run(BenchOptions o, Workspace work)
    {
        var store = work.NewStore();
        using var ps = new PsSession();
        ps.Run("param($store) $null = Get-LlmTask -StorePath $store", store); // creates the store at the current schema
        var seed = System.Diagnostics.Stopwatch.StartNew();
        Seed(store, o.StoreTasks);
        seed.Stop();
        Console.Error.WriteLine($"  seeded {o.StoreTasks} tasks in {seed.ElapsedMilliseconds} ms");

        var random = new Random(6);
        var ids = Enumerable.Range(0, o.QueryRuns).Select(_ => (long)random.Next(1, o.StoreTasks + 1)).ToArray();
        ps.Numbers(Timed, store, ids.Take(3).ToArray()); // warm-up
        var r = ps.Numbers(Timed, store, ids);
        var split = Array.IndexOf(r, -1.0);
        var byId = r[..split];
        var newest = r[(split + 1)..^1];
        if (r[^1] != 0)
        {
            throw new InvalidOperationException($"{r[^1]} query results were wrong.");
        }

        var result = new ScenarioResult { Title = $"Queries over a store of {Format.Int(o.StoreTasks)} tasks" };
        var newestStats = Stats.Of(newest);
        var idStats = Stats.Of(byId);
        result.Tables.Add(new Table
        {
            Caption = $"Each command timed inside the hosted PowerShell engine (parameter binding, store query, objects written), {o.QueryRuns} times each after a warm-up. " +
                      $"The store ({new FileInfo(store).Length / (1024 * 1024)} MB, one attempt row per task, 90% Completed) was seeded with SQL in {seed.ElapsedMilliseconds} ms.",
            Columns = ["command", "ms: median (min–max)", "p90 ms"],
        }
            .Add("`Get-LlmTask -State Completed -Newest 50`", newestStats.Show("0.00"), Format.N(Percentile(newest, 0.9), "0.00"))
            .Add("`Get-LlmTask -Id <random id>`", idStats.Show("0.00"), Format.N(Percentile(byId, 0.9), "0.00")));
        result.Targets.Add(new TargetCheck($"Get-LlmTask -State Completed -Newest 50 over {Format.Int(o.StoreTasks)}", $"{newestStats.Median:0.00} ms", "≤ 20 ms", newestStats.Median <= 20));
        result.Targets.Add(new TargetCheck($"Get-LlmTask -Id over {Format.Int(o.StoreTasks)}", $"{idStats.Median:0.00} ms", "≤ 20 ms", idStats.Median <= 20));
        return result;
    }

    private static double Percentile(double[] samples, double p)
    {
        var sorted = samples.Order().ToArray();
        return sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)];
    }

    /// <summary>Finished tasks as the engine writes them: a request, an output, one attempt each.</summary>
    internal static void Seed(string path, int count)
    {
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ConnectionString);
        connection.Open();
        using var transaction = connection.BeginTransaction();
        using var task = connection.CreateCommand();
        task.Transaction = transaction;
        task.CommandText = """
            INSERT INTO tasks (instance_id, name, state, model, provider, prompt, request_json, output, error, error_kind, attempts,
                               input_tokens, output_tokens, created_at, started_at, completed_at)
            VALUES ($iid, $name, $state, 'mock/echo', 'mock', $prompt, $request, $output, $error, $kind, 1, 9, 3, $created, $created + 5, $completed)
            RETURNING id
            """;
        string[] names = ["$iid", "$name", "$state", "$prompt", "$request", "$output", "$error", "$kind", "$created", "$completed"];
        var p = names.ToDictionary(n => n, n => task.Parameters.Add(new SqliteParameter { ParameterName = n }));
        using var attempt = connection.CreateCommand();
        attempt.Transaction = transaction;
        attempt.CommandText = """
            INSERT INTO attempts (task_id, number, outcome, request_json, output, error, error_kind, started_at, latency_ms, input_tokens, output_tokens)
            VALUES ($task, 1, $outcome, $request, $output, $error, $kind, $started, 5, 9, 3)
            """;
        string[] attemptNames = ["$task", "$outcome", "$request", "$output", "$error", "$kind", "$started"];
        var a = attemptNames.ToDictionary(n => n, n => attempt.Parameters.Add(new SqliteParameter { ParameterName = n }));
        var start = DateTimeOffset.UtcNow.AddDays(-30).ToUnixTimeMilliseconds();
        for (var i = 0; i < count; i++)
        {
            var state = (i % 20) switch { 0 => "Failed", 1 => "Cancelled", _ => "Completed" };
            var prompt = $"Summarise document {i} in one sentence.";
            var request = $$"""{"model":"mock/echo","messages":[{"role":"user","content":"{{prompt}}"}],"name":"seed-{{i / 1000}}"}""";
            var created = start + i * 20L;
            object output = state == "Completed" ? $"Document {i} says something worth one sentence." : DBNull.Value;
            object error = state == "Failed" ? "The provider answered 500." : state == "Cancelled" ? "Stopped by Stop-LlmTask." : DBNull.Value;
            object kind = state == "Failed" ? "ProviderError" : state == "Cancelled" ? "Cancelled" : DBNull.Value;
            p["$iid"].Value = Guid.NewGuid().ToString("D");
            p["$name"].Value = $"seed-{i / 1000}";
            p["$state"].Value = state;
            p["$prompt"].Value = prompt;
            p["$request"].Value = request;
            p["$output"].Value = output;
            p["$error"].Value = error;
            p["$kind"].Value = kind;
            p["$created"].Value = created;
            p["$completed"].Value = created + 900;
            var id = (long)task.ExecuteScalar()!;
            a["$task"].Value = id;
            a["$outcome"].Value = state == "Completed" ? "Succeeded" : state;
            a["$request"].Value = request;
            a["$output"].Value = output;
            a["$error"].Value = error;
            a["$kind"].Value = kind;
            a["$started"].Value = created + 5;
            attempt.ExecuteNonQuery();
        }

        transaction.Commit();
    }
}

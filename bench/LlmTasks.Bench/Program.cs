using System.Diagnostics;
using System.Text;
using System.Text.Json;
using LlmTasks.Bench;
using LlmTasks.Bench.Scenarios;

BenchOptions options;
try
{
    options = BenchOptions.Parse(args);
}
catch (HelpRequested)
{
    Console.WriteLine(BenchOptions.Help);
    return 0;
}
catch (Exception e) when (e is ArgumentException or FormatException or OverflowException)
{
    Console.Error.WriteLine(e.Message);
    return 2;
}

if (options.Worker is { } worker)
{
    return Worker.Run(worker, options);
}

return Orchestrator.Run(options, args);

/// <summary>Runs each scenario in a child process of its own (a clean heap, its own store settings) and writes the report.</summary>
internal static class Orchestrator
{
    public static int Run(BenchOptions o, string[] args)
    {
        if (!File.Exists(Repo.ModuleManifest))
        {
            Console.Error.WriteLine($"The module is not built at {Repo.ModuleManifest}: run dotnet build Engine.sln -c Release first (dotnet run builds it).");
            return 2;
        }

        var work = new Workspace(Path.Combine(Repo.Root, "out", "bench", DateTime.UtcNow.ToString("yyyyMMdd-HHmmss")));
        var clock = Stopwatch.StartNew();
        var results = new List<ScenarioResult>();
        var loadStart = Machine.LoadAverage();
        try
        {
            ScenarioResult? normal = null;
            foreach (var scenario in BenchOptions.AllScenarios.Where(o.Scenarios.Contains))
            {
                if (scenario == "streaming")
                {
                    // Each half in its own process (the setting is read once per process), alternating, twice.
                    var on = new List<ScenarioResult>();
                    var off = new List<ScenarioResult>();
                    for (var round = 0; round < 2; round++)
                    {
                        on.Add(Child("latency-llmtasks", o, work, "Normal", streaming: "1"));
                        off.Add(Child("latency-llmtasks", o, work, "Normal", streaming: "0"));
                    }

                    results.Add(Streaming(o, on, off));
                    continue;
                }

                if (scenario == "durability")
                {
                    normal ??= Child("overhead", o, work, "Normal");
                    var full = Child("overhead", o, work, "Full");
                    results.Add(Durability(o, normal, full));
                    continue;
                }

                if (scenario == "workers")
                {
                    results.Add(Child(scenario, o, work, "Normal", Postgres()));
                    continue;
                }

                var backends = scenario is "overhead" or "latency" ? o.Backends : ["sqlite"];
                ScenarioResult? onSqlite = null;
                foreach (var backend in backends)
                {
                    var result = Child(scenario, o, work, "Normal", backend == "postgres" ? Postgres() : null);
                    if (backend == "sqlite")
                    {
                        onSqlite = result;
                        if (scenario == "overhead")
                        {
                            normal = result;
                        }
                    }
                    else if (scenario == "overhead" && onSqlite is not null)
                    {
                        var perTask = Stats.Of(result.Samples["total_ms"]).Median / Stats.Of(onSqlite.Samples["total_ms"]).Median;
                        result.Targets.Add(new TargetCheck("Per-task overhead on PostgreSQL vs SQLite (scenario 1, total time)", Format.N(perTask, "0.00") + "×", "≤ 2×", perTask <= 2));
                    }

                    results.Add(result);
                }
            }
        }
        finally
        {
            work.Delete();
            _postgres?.Dispose();
        }

        var report = Render(o, args, results, loadStart, clock.Elapsed);
        Console.WriteLine();
        Console.WriteLine(report);
        if (o.Write)
        {
            var path = o.Out ?? Path.Combine(Repo.Root, "docs", "benchmarks.md");
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
            File.WriteAllText(path, report);
            Console.Error.WriteLine($"Wrote {path}");
        }

        return 0;
    }

    private static LlmTasks.Tests.Stores.PostgresServer? _postgres;

    /// <summary>The bench's PostgreSQL server (started on first use, removed at the end): initdb in a temporary folder, a free loopback port.</summary>
    private static LlmTasks.Tests.Stores.PostgresServer Postgres()
    {
        if (_postgres is null)
        {
            Console.Error.WriteLine("== starting a PostgreSQL server for the postgres runs");
            _postgres = new LlmTasks.Tests.Stores.PostgresServer();
        }

        return _postgres;
    }

    private static ScenarioResult Child(string scenario, BenchOptions o, Workspace work, string synchronous,
        LlmTasks.Tests.Stores.PostgresServer? postgres = null, string? streaming = null)
    {
        var backend = postgres is null ? "sqlite" : "postgres";
        Console.Error.WriteLine($"== {scenario} ({backend}{(postgres is null ? $", synchronous={synchronous}" : string.Empty)}{(streaming is null ? string.Empty : ", streaming=" + streaming)}), load {Machine.LoadAverage()}");
        var resultFile = Path.Combine(work.Folder, $"{scenario}-{backend}-{synchronous}-{streaming}-{Guid.NewGuid():N}.json");
        var start = new ProcessStartInfo(Environment.ProcessPath!) { UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(Environment.ProcessPath!) == "dotnet")
        {
            start.ArgumentList.Add(typeof(Orchestrator).Assembly.Location);
        }

        foreach (var a in new[] { "--worker", scenario, "--result", resultFile }.Concat(o.CountArgs()))
        {
            start.ArgumentList.Add(a);
        }

        start.Environment["LLMTASKS_SYNCHRONOUS"] = synchronous;
        start.Environment["LLMTASKS_STREAMING"] = streaming; // null: the default (on)
        // Importing the module resumes the default store: point it into the workspace, away from the user's own.
        start.Environment["LLMTASKS_STORE"] = Path.Combine(work.Folder, $"default-{scenario}-{synchronous}.db");
        start.Environment["LLMTASKS_DEFAULT_MODEL"] = null;
        start.Environment[Workspace.BackendVariable] = backend;
        start.Environment[Workspace.ServerVariable] = postgres?.ConnectionString();
        var loadBefore = Machine.LoadAverage();
        var clock = Stopwatch.StartNew();
        using var child = Process.Start(start)!;
        child.WaitForExit();
        if (child.ExitCode != 0 || !File.Exists(resultFile))
        {
            throw new InvalidOperationException($"Scenario {scenario} failed (exit code {child.ExitCode}).");
        }

        var result = JsonSerializer.Deserialize<ScenarioResult>(File.ReadAllText(resultFile))!;
        result.LoadBefore = loadBefore;
        result.LoadAfter = Machine.LoadAverage();
        result.Seconds = clock.Elapsed.TotalSeconds;
        return result;
    }

    private static ScenarioResult Streaming(BenchOptions o, List<ScenarioResult> on, List<ScenarioResult> off)
    {
        var result = new ScenarioResult
        {
            Title = "Streaming cost: scenario 2's LlmTasks run with streaming on (the default) and off",
            LoadBefore = on[0].LoadBefore,
            LoadAfter = off[^1].LoadAfter,
            Seconds = on.Concat(off).Sum(r => r.Seconds),
        };
        var ideal = Math.Ceiling(o.HttpTasks / (double)o.Concurrency) * o.LatencyMs;
        var table = new Table
        {
            Caption = $"`$prompts | Start-LlmTask -Model openai/bench -ApiBase … | Wait-LlmTask` as in scenario 2 ({Format.Int(o.HttpTasks)} calls, {o.LatencyMs} ms each, concurrency {o.Concurrency}); " +
                      "the endpoint answers a streaming request with the same answer as server-sent chunks. `$env:LLMTASKS_STREAMING` is set for the whole process, so each setting runs in " +
                      $"a process of its own: on, off, on, off, each {o.Runs} runs after a warm-up.",
            Columns = ["streaming", "wall time ms: median (min–max)", "efficiency", "calls/s", "vs off"],
        };
        var offMs = Stats.Of(off.SelectMany(r => r.Samples["llmtasks_ms"]).ToArray()).Median;
        var onMs = Stats.Of(on.SelectMany(r => r.Samples["llmtasks_ms"]).ToArray()).Median;
        foreach (var (name, runs) in new[] { ("on (default: `stream: true`, partial output saved every 500 ms or 4 KB)", on), ("off (`$env:LLMTASKS_STREAMING = 0`: whole answers)", off) })
        {
            var s = Stats.Of(runs.SelectMany(r => r.Samples["llmtasks_ms"]).ToArray());
            table.Add(name, s.Show("0"), Format.N(ideal / s.Median, "0.00"), Format.N(o.HttpTasks / (s.Median / 1000), "0"), Format.N(s.Median / offMs, "0.00") + "× the time");
        }

        result.Tables.Add(table);
        var cost = 1 - offMs / onMs; // the share of throughput streaming costs
        result.Targets.Add(new TargetCheck("Streaming's cost in scenario 2's throughput", Format.N(cost * 100, "0.0") + " %", "≤ 5 %", cost <= 0.05));
        return result;
    }

    private static ScenarioResult Durability(BenchOptions o, ScenarioResult normal, ScenarioResult full)
    {
        var result = new ScenarioResult
        {
            Title = $"Durability cost: scenario 1 at synchronous=NORMAL (the default) and FULL",
            LoadBefore = normal.LoadBefore,
            LoadAfter = full.LoadAfter,
            Seconds = full.Seconds,
        };
        var table = new Table
        {
            Caption = $"{Format.Int(o.Tasks)} mock/echo tasks as in scenario 1; `$env:LLMTASKS_SYNCHRONOUS` set for the whole process. Store on {FileSystemOf(Repo.Root)}. " +
                      $"Load average {normal.LoadBefore} (NORMAL) and {full.LoadBefore} (FULL) at the start.",
            Columns = ["synchronous", "start ms", "completion ms", "total ms", "tasks/s", "vs NORMAL"],
        };
        var normalTotal = Stats.Of(normal.Samples["total_ms"]).Median;
        foreach (var (name, r) in new[] { ("NORMAL (default)", normal), ("FULL (fsync per commit)", full) })
        {
            var total = Stats.Of(r.Samples["total_ms"]);
            table.Add(name, Stats.Of(r.Samples["start_ms"]).Show("0"), Stats.Of(r.Samples["completion_ms"]).Show("0"), total.Show("0"),
                Stats.Of(r.Samples["total_ms"].Select(x => o.Tasks / (x / 1000)).ToArray()).Show("0"), Format.N(total.Median / normalTotal, "0.00") + "× the time");
        }

        result.Tables.Add(table);
        result.Targets.AddRange(full.Targets);
        return result;
    }

    private static string FileSystemOf(string path)
    {
        try
        {
            var mounts = File.ReadAllLines("/proc/mounts").Select(l => l.Split(' ')).Where(p => p.Length > 2 && path.StartsWith(p[1], StringComparison.Ordinal))
                .OrderByDescending(p => p[1].Length).FirstOrDefault();
            return mounts is null ? "an unknown file system" : $"{mounts[2]} ({mounts[0]})";
        }
        catch (IOException)
        {
            return "an unknown file system";
        }
    }

    private static string Render(BenchOptions o, string[] args, List<ScenarioResult> results, string loadStart, TimeSpan elapsed)
    {
        var md = new StringBuilder();
        md.AppendLine("# Benchmarks").AppendLine();
        md.AppendLine("Written by `bench/LlmTasks.Bench` (see README, Performance). Every number is a median of several runs with the min–max in brackets.").AppendLine();
        md.AppendLine("## Machine and run").AppendLine();
        md.AppendLine("| | |").AppendLine("|---|---|");
        foreach (var (k, v) in Machine.Describe())
        {
            md.AppendLine($"| {k} | {v} |");
        }

        md.AppendLine($"| Command | `dotnet run --project bench/LlmTasks.Bench -c Release{(args.Length > 0 ? " -- " + string.Join(' ', args) : string.Empty)}` |");
        md.AppendLine($"| Counts | {string.Join(' ', o.CountArgs())} |");
        md.AppendLine($"| Date (UTC) | {DateTime.UtcNow:yyyy-MM-dd HH:mm} |");
        md.AppendLine($"| Load average (1/5/15 min) | {loadStart} at the start, {Machine.LoadAverage()} at the end |");
        md.AppendLine($"| Duration | {elapsed.TotalSeconds:0} s |").AppendLine();

        md.AppendLine("## Targets").AppendLine();
        md.AppendLine("| what | measured | target | met |").AppendLine("|---|---|---|---|");
        foreach (var t in results.SelectMany(r => r.Targets))
        {
            md.AppendLine($"| {t.What} | {t.Measured} | {t.Target} | {(t.Met ? "yes" : "**no**")} |");
        }

        md.AppendLine();
        var number = 0;
        foreach (var r in results)
        {
            md.AppendLine($"## {++number}. {r.Title}").AppendLine();
            md.AppendLine($"Load average {r.LoadBefore} before, {r.LoadAfter} after ({r.Seconds:0} s).").AppendLine();
            foreach (var table in r.Tables)
            {
                table.Render(md);
            }

            foreach (var note in r.Notes)
            {
                md.AppendLine(note).AppendLine();
            }
        }

        return md.ToString();
    }
}

/// <summary>One scenario in this (child) process; the result goes to the file the parent named.</summary>
internal static class Worker
{
    public static int Run(string scenario, BenchOptions o)
    {
        if (scenario == "drain")
        {
            return Workers.RunDrain(o); // one of scenario 7's worker processes
        }

        if (scenario == "quota-part")
        {
            return Quota.RunPart(o); // one of scenario 8's four processes
        }

        var work = new Workspace(Path.GetDirectoryName(o.ResultFile) ?? Path.GetTempPath());
        work = new Workspace(Path.Combine(work.Folder, scenario + "-" + Environment.ProcessId));
        var result = scenario switch
        {
            "overhead" => EngineOverhead.Run(o, work),
            "latency" => LatencyBound.Run(o, work),
            "latency-llmtasks" => LatencyBound.RunLlmTasks(o, work),
            "memory" => Memory.Run(o, work),
            "queries" => Queries.Run(o, work),
            "workers" => Workers.Run(o, work),
            "batches" => BatchOverhead.Run(o, work),
            "quota" => Quota.Run(o, work),
            "board" => BoardPages.Run(o, work),
            _ => throw new ArgumentException($"No worker for '{scenario}'."),
        };

        if (o.ResultFile is { } file)
        {
            File.WriteAllText(file, JsonSerializer.Serialize(result));
        }

        return 0;
    }
}

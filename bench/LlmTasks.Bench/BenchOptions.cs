using System.Globalization;

namespace LlmTasks.Bench;

/// <summary>Counts and switches; every count has a flag so a quick run can shrink it (README: Performance).</summary>
internal sealed record BenchOptions
{
    public static readonly string[] AllScenarios = ["overhead", "latency", "memory", "queries", "durability", "streaming", "workers", "batches", "quota", "board"];

    public static readonly string[] AllBackends = ["sqlite", "postgres"];

    /// <summary>The store backends scenarios 1 and 2 run on (the others run on SQLite; workers on PostgreSQL).</summary>
    public IReadOnlyList<string> Backends { get; init; } = AllBackends;
    /// <summary>Scenario 7: tasks the worker processes drain, and each worker's -ThrottleLimit.</summary>
    public int WorkerTasks { get; init; } = 2_000;
    public int WorkerLimit { get; init; } = 8;
    /// <summary>Scenario 7: the numbers of worker processes compared; the first is the one the others are measured against.</summary>
    public IReadOnlyList<int> WorkerCounts { get; init; } = [1, 2, 4];
    /// <summary>Scenario 7, warm runs: tasks each worker process drains from a store of its own before the timing starts.</summary>
    public int WorkerWarmup { get; init; } = 400;
    /// <summary>Scenario 8: tasks through the quota-enforcing endpoint, and its requests per minute.</summary>
    public int QuotaTasks { get; init; } = 5_000;
    public int QuotaRpm { get; init; } = 12_000;
    /// <summary>Internal: which quarter of scenario 8's prompts a process runs.</summary>
    public int QuotaPart { get; init; }

    public IReadOnlyList<string> Scenarios { get; init; } = AllScenarios;
    /// <summary>Measured runs per scenario (after one warm-up run); tables show the median and min–max.</summary>
    public int Runs { get; init; } = 5;
    public int Tasks { get; init; } = 10_000;
    public int HttpTasks { get; init; } = 1_000;
    public int Concurrency { get; init; } = 64;
    public int LatencyMs { get; init; } = 50;
    public int Pending { get; init; } = 10_000;
    public int Completed { get; init; } = 50_000;
    public int Batch { get; init; } = 5_000;
    public int StoreTasks { get; init; } = 100_000;
    public int QueryRuns { get; init; } = 30;
    /// <summary>Where the report goes; null: docs/benchmarks.md in the repository.</summary>
    public string? Out { get; init; }
    public bool Write { get; init; } = true;

    // Internal: one scenario in a child process.
    public string? Worker { get; init; }
    public string? ResultFile { get; init; }
    public string? DrainStore { get; init; }
    public string? DrainGo { get; init; }
    public string? DrainWarmStore { get; init; }

    public static BenchOptions Parse(string[] args)
    {
        var o = new BenchOptions();
        for (var i = 0; i < args.Length; i++)
        {
            var name = args[i].TrimStart('-').ToLowerInvariant();
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"--{name} needs a value.");
            int Int() => int.Parse(Value(), NumberStyles.None, CultureInfo.InvariantCulture);
            o = name switch
            {
                "scenarios" or "scenario" => o with { Scenarios = Value().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(Check).ToArray() },
                "runs" => o with { Runs = Int() },
                "tasks" => o with { Tasks = Int() },
                "http-tasks" => o with { HttpTasks = Int() },
                "concurrency" => o with { Concurrency = Int() },
                "latency-ms" => o with { LatencyMs = Int() },
                "pending" => o with { Pending = Int() },
                "completed" => o with { Completed = Int() },
                "batch" => o with { Batch = Int() },
                "store-tasks" => o with { StoreTasks = Int() },
                "query-runs" => o with { QueryRuns = Int() },
                "backends" or "backend" => o with { Backends = Value().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(CheckBackend).ToArray() },
                "worker-tasks" => o with { WorkerTasks = Int() },
                "worker-limit" => o with { WorkerLimit = Int() },
                "worker-counts" => o with { WorkerCounts = Value().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(c => int.Parse(c, NumberStyles.None, CultureInfo.InvariantCulture)).ToArray() },
                "quota-tasks" => o with { QuotaTasks = Int() },
                "quota-rpm" => o with { QuotaRpm = Int() },
                "quota-part" => o with { QuotaPart = Int() },
                "drain-store" => o with { DrainStore = Value() },
                "drain-go" => o with { DrainGo = Value() },
                "drain-warm-store" => o with { DrainWarmStore = Value() },
                "worker-warmup" => o with { WorkerWarmup = Int() },
                "out" => o with { Out = Value() },
                "no-write" => o with { Write = false },
                "quick" => o with { Runs = 2, Tasks = 1_000, HttpTasks = 200, Pending = 1_000, Completed = 5_000, Batch = 1_000, StoreTasks = 10_000, QueryRuns = 10, WorkerTasks = 400, WorkerWarmup = 100, QuotaTasks = 1_000, QuotaRpm = 6_000 },
                "worker" => o with { Worker = Value() },
                "result" => o with { ResultFile = Value() },
                "help" or "h" or "?" => throw new HelpRequested(),
                _ => throw new ArgumentException($"Unknown option '{args[i]}'. Try --help."),
            };
        }

        return o;
    }

    private static string CheckBackend(string backend) => AllBackends.Contains(backend)
        ? backend
        : throw new ArgumentException($"Unknown backend '{backend}': use {string.Join(", ", AllBackends)}.");

    private static string Check(string scenario) => AllScenarios.Contains(scenario)
        ? scenario
        : throw new ArgumentException($"Unknown scenario '{scenario}': use {string.Join(", ", AllScenarios)}.");

    /// <summary>The flags that reproduce these counts in a child process.</summary>
    public IEnumerable<string> CountArgs() =>
    [
        "--runs", I(Runs), "--tasks", I(Tasks), "--http-tasks", I(HttpTasks), "--concurrency", I(Concurrency),
        "--latency-ms", I(LatencyMs), "--pending", I(Pending), "--completed", I(Completed), "--batch", I(Batch),
        "--store-tasks", I(StoreTasks), "--query-runs", I(QueryRuns), "--worker-tasks", I(WorkerTasks), "--worker-limit", I(WorkerLimit),
        "--worker-counts", string.Join(',', WorkerCounts.Select(I)), "--worker-warmup", I(WorkerWarmup),
        "--quota-tasks", I(QuotaTasks), "--quota-rpm", I(QuotaRpm),
    ];

    private static string I(int n) => n.ToString(CultureInfo.InvariantCulture);

    public const string Help = """
        LlmTasks.Bench: runs the benchmark scenarios and writes docs/benchmarks.md.

          dotnet run --project bench/LlmTasks.Bench -c Release [-- options]

        --scenarios a,b     overhead, latency, memory, queries, durability, streaming, workers, batches, quota, board (default: all)
        --backends a,b      sqlite, postgres: the stores scenarios 1 and 2 run on (default: both;
                            postgres starts a throw-away PostgreSQL 15 server, Debian's binaries)
        --runs N            measured runs per scenario after one warm-up (default 5)
        --tasks N           scenarios 1 and 5: mock/echo tasks per run (10000); scenario 8: batched tasks (and live ones)
        --http-tasks N      scenarios 2 and 6: tasks per run (1000)
        --concurrency N     scenario 2: calls at once (64)
        --latency-ms N      scenario 2: the endpoint's delay (50)
        --pending N         scenario 3: queued tasks (10000)
        --completed N       scenario 3: completed tasks for the flat-heap check (50000), in --batch N (5000)
        --store-tasks N     scenario 4: tasks in the store (100000)
        --query-runs N      scenario 4: timed queries of each kind (30)
        --worker-tasks N    scenario 7: tasks 1, 2 and 4 worker processes drain (2000)
        --worker-limit N    scenario 7: each worker's -ThrottleLimit (8); --latency-ms is the call's delay
        --worker-counts a,b scenario 7: the worker processes compared (1,2,4; the target needs 1 and 4)
        --worker-warmup N   scenario 7, warm runs: tasks each worker drains from a store of its own first (400)
        --quota-tasks N     scenario 8: tasks through the quota-enforcing endpoint (5000)
        --quota-rpm N       scenario 8: the requests per minute it allows (12000)
        --quick             small counts for a smoke run
        --out PATH          the report (default docs/benchmarks.md); --no-write prints it only
        """;
}

internal sealed class HelpRequested : Exception;

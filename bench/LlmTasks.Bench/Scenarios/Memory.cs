using System.Diagnostics;

namespace LlmTasks.Bench.Scenarios;

/// <summary>
/// Scenario 3: the managed heap per Pending task (a blocker holds the only slot, so N tasks queue),
/// and the heap and working set sampled over many completed tasks (they must not be kept).
/// </summary>
internal static class Memory
{
    private const string Block = """
        param($store)
        $null = Start-LlmTask -Prompt blocker -Model mock/delay:3600000 -ThrottleLimit 1 -StorePath $store
        """;

    private const string Queue = """
        param($prompts, $store)
        $null = $prompts | Start-LlmTask -Model mock/echo -StorePath $store
        """;

    private const string CountAndStop = """
        param($store)
        $pending = 0
        foreach ($t in Get-LlmTask -StorePath $store -State Pending) { $pending++ }
        $null = Get-LlmTask -StorePath $store -State Pending, Running | Stop-LlmTask
        $pending
        """;

    private const string Complete = """
        param($prompts, $store)
        $done = 0
        foreach ($t in $prompts | Start-LlmTask -Model mock/echo -StorePath $store -ThrottleLimit 8 | Wait-LlmTask) {
            if ($t.State -eq 'Completed') { $done++ }
        }
        $done
        """;

    public static ScenarioResult Run(BenchOptions o, Workspace work)
    {
        using var ps = new PsSession();
        var result = new ScenarioResult { Title = "Memory" };
        PendingTasks(o, work, ps, result);
        CompletedTasks(o, work, ps, result);
        return result;
    }

    private static void PendingTasks(BenchOptions o, Workspace work, PsSession ps, ScenarioResult result)
    {
        var n = o.Pending;
        var prompts = Enumerable.Range(1, n).Select(i => "queued prompt " + i).ToArray();
        var perTask = new List<double>();
        for (var run = 0; run <= o.Runs; run++)
        {
            var store = work.NewStore();
            ps.Run(Block, store);
            Thread.Sleep(200); // the blocker is Running and holds the only slot
            var before = Heap();
            ps.Run(Queue, prompts, store);
            var after = Heap();
            var pending = (int)ps.Numbers(CountAndStop, store)[0];
            if (pending != n)
            {
                throw new InvalidOperationException($"{pending} of {n} tasks were Pending.");
            }

            if (run > 0)
            {
                perTask.Add((after - before) / (double)n);
                Console.Error.WriteLine($"  run {run}: {(after - before) / (double)n:0} bytes per Pending task");
            }
        }

        var s = Stats.Of(perTask);
        result.Tables.Add(new Table
        {
            Caption = $"Managed heap (`GC.GetTotalMemory(true)`) before and after queueing {Format.Int(n)} mock/echo tasks behind a running " +
                      $"`mock/delay:3600000` task with `-ThrottleLimit 1`; the task objects Start-LlmTask writes are discarded, so what remains is what the engine holds per queued task. {o.Runs} runs after a warm-up.",
            Columns = ["measure", "median (min–max)"],
        }.Add("**managed bytes per Pending task**", "**" + s.Show("0") + "**"));
        result.Targets.Add(new TargetCheck($"managed bytes per Pending task ({Format.Int(n)} queued)", $"{s.Median:0} B", "≤ 2,048 B", s.Median <= 2048));
        ps.Run("param($store) $null = Start-LlmTask -Prompt reset -Model mock/echo -ThrottleLimit 8 -StorePath $store -Wait", work.NewStore());
    }

    private static void CompletedTasks(BenchOptions o, Workspace work, PsSession ps, ScenarioResult result)
    {
        var store = work.NewStore();
        var batches = Math.Max(2, o.Completed / o.Batch);
        var prompts = Enumerable.Range(1, o.Batch).Select(i => "prompt " + i).ToArray();
        var table = new Table
        {
            Caption = $"{Format.Int(batches * o.Batch)} mock/echo tasks in batches of {Format.Int(o.Batch)} (`$prompts | Start-LlmTask | Wait-LlmTask`, one store), " +
                      "sampled after each batch: managed heap after a full GC, and the process working set.",
            Columns = ["completed tasks", "managed heap (MB)", "working set (MB)", "batch time (ms)"],
        };
        var heaps = new List<double>();
        for (var batch = 1; batch <= batches; batch++)
        {
            var clock = Stopwatch.StartNew();
            var done = (int)ps.Numbers(Complete, prompts, store)[0];
            clock.Stop();
            if (done != o.Batch)
            {
                throw new InvalidOperationException($"{done} of {o.Batch} tasks completed.");
            }

            var heap = Heap();
            heaps.Add(heap);
            using var self = Process.GetCurrentProcess();
            table.Add(Format.Int(batch * o.Batch), Format.N(heap / 1048576.0), Format.N(self.WorkingSet64 / 1048576.0), Format.N(clock.Elapsed.TotalMilliseconds, "0"));
        }

        result.Tables.Add(table);
        // The first batch pays for JIT and caches; growth after it is what completed tasks would cost if they were kept.
        var retained = (heaps[^1] - heaps[0]) / ((batches - 1.0) * o.Batch);
        result.Notes.Add($"Heap growth from the first to the last sample: {(heaps[^1] - heaps[0]) / 1048576.0:0.00} MB over {Format.Int((batches - 1) * o.Batch)} more completed tasks = {retained:0.0} bytes per completed task " +
                         "(an LlmTask snapshot alone is several hundred bytes, so anything near zero means finished tasks are not kept).");
        result.Targets.Add(new TargetCheck($"completed tasks are not held ({Format.Int(batches * o.Batch)} tasks)", $"{retained:0.0} B retained per completed task", "flat heap (< 64 B per task)", retained < 64));
    }

    private static long Heap()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        return GC.GetTotalMemory(forceFullCollection: true);
    }
}

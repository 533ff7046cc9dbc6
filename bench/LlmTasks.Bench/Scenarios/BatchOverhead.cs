using System.Security;
using LlmTasks.Tests.Http;

namespace LlmTasks.Bench.Scenarios;

/// <summary>
/// Scenario 8: the engine's cost per task to submit and collect N tasks as one provider batch (Start-LlmTask -AsBatch)
/// against the loopback fake of OpenAI's Files and Batch API (the tests' FakeOpenAIBatchServer: multipart upload,
/// validating → in_progress → finalizing → completed one step per look, the output file in an order of its own), and in
/// the same run the same N tasks sent live to the bench's loopback chat endpoint (Kestrel, no delay) at -ThrottleLimit 64.
/// </summary>
internal static class BatchOverhead
{
    /// <summary>
    /// The gathering window of the batch runs (the default is 2 s). A quiet window: a pipeline that stalls longer than it
    /// (on this shared machine, 0.1 s did) is sent as more than one batch, which the report counts.
    /// </summary>
    private const string Window = "1";

    /// <summary>The longest wait between two looks at a batch (the default is 30 s).</summary>
    private const string Poll = "0.05";

    private const string BatchScript = """
        param($prompts, $store, $apiBase, $key)
        $sw = [System.Diagnostics.Stopwatch]::StartNew()
        $tasks = $prompts | Start-LlmTask -Model openai/gpt-4o-mini -ApiBase $apiBase -ApiKey $key -AsBatch -StorePath $store
        $started = $sw.Elapsed.TotalMilliseconds
        $done = $tasks | Wait-LlmTask
        $total = $sw.Elapsed.TotalMilliseconds
        $ok = 0
        foreach ($t in $done) { if ($t.State -eq 'Completed' -and $t.Output -eq "echo: $($t.Prompt)") { $ok++ } }
        $batches = @($tasks | Get-LlmTaskBatch)
        $created = $batches[0].CreatedAt; $submitted = $batches[0].SubmittedAt; $ended = $batches[0].EndedAt
        foreach ($b in $batches) { # the hosted session has no Utility module (Measure-Object)
            if ($b.CreatedAt -lt $created) { $created = $b.CreatedAt }
            if ($b.SubmittedAt -gt $submitted) { $submitted = $b.SubmittedAt }
            if ($b.EndedAt -gt $ended) { $ended = $b.EndedAt }
        }
        $started
        $total
        $ok
        $batches.Count
        ($submitted - $created).TotalMilliseconds
        ($ended - $submitted).TotalMilliseconds
        """;

    private const string LiveScript = """
        param($prompts, $store, $apiBase, $key)
        $sw = [System.Diagnostics.Stopwatch]::StartNew()
        $tasks = $prompts | Start-LlmTask -Model openai/gpt-4o-mini -ApiBase $apiBase -ApiKey $key -ThrottleLimit 64 -StorePath $store
        $started = $sw.Elapsed.TotalMilliseconds
        $done = $tasks | Wait-LlmTask
        $total = $sw.Elapsed.TotalMilliseconds
        $ok = 0
        foreach ($t in $done) { if ($t.State -eq 'Completed' -and $t.Output -eq 'pong') { $ok++ } }
        $started
        $total
        $ok
        """;

    public static ScenarioResult Run(BenchOptions o, Workspace work) => RunAsync(o, work).GetAwaiter().GetResult();

    private static async Task<ScenarioResult> RunAsync(BenchOptions o, Workspace work)
    {
        // Read when the module's engine starts: set before the session imports it.
        Environment.SetEnvironmentVariable("LLMTASKS_BATCH_WINDOW_SECONDS", Window);
        Environment.SetEnvironmentVariable("LLMTASKS_BATCH_POLL_SECONDS", Poll); // the fake moves one step per look: look again soon

        var n = o.Tasks;
        var prompts = Enumerable.Range(1, n).Select(i => "prompt " + i).ToArray();
        using var fake = new FakeOpenAIBatchServer();
        await using var endpoint = await ChatEndpoint.StartAsync(TimeSpan.Zero);
        using var ps = new PsSession();
        using var key = Key("sk-bench-not-a-real-key");
        var batchStart = new List<double>();
        var batchTotal = new List<double>();
        var submit = new List<double>();
        var collect = new List<double>();
        var liveStart = new List<double>();
        var liveTotal = new List<double>();
        var batches = new List<double>();
        for (var run = 0; run <= o.Runs; run++)
        {
            // Alternating, so the load of the shared machine falls on both alike.
            var b = ps.Numbers(BatchScript, prompts, work.NewStore(), fake.ApiBase, key);
            if ((int)b[2] != n)
            {
                throw new InvalidOperationException($"Batch run: {b[2]} of {n} tasks completed with their answer, in {b[3]} batch(es).");
            }

            endpoint.ResetCounters();
            var l = ps.Numbers(LiveScript, prompts, work.NewStore(), endpoint.ApiBase, key);
            if ((int)l[2] != n || endpoint.Requests != n)
            {
                throw new InvalidOperationException($"Live run: {l[2]} of {n} tasks completed, {endpoint.Requests} requests served.");
            }

            if (run == 0)
            {
                continue; // warm-up: JIT, module load, the SDK's first requests
            }

            batchStart.Add(b[0]);
            batchTotal.Add(b[1]);
            submit.Add(b[4]);
            collect.Add(b[5]);
            batches.Add(b[3]);
            liveStart.Add(l[0]);
            liveTotal.Add(l[1]);
            Console.Error.WriteLine($"  run {run}: batch {b[1]:0} ms (submit {b[4]:0}, collect {b[5]:0}), live {l[1]:0} ms");
        }

        string PerTask(List<double> ms) => Stats.Of(ms.Select(x => x * 1000 / n).ToArray()).Show("0");
        var result = new ScenarioResult { Title = $"Provider batches: {Format.Int(n)} tasks submitted and collected as one OpenAI batch (loopback fake), and the same tasks live" };
        result.Samples["batch_total_ms"] = batchTotal;
        result.Samples["live_total_ms"] = liveTotal;
        var window = double.Parse(Window, System.Globalization.CultureInfo.InvariantCulture) * 1000;
        var polls = 3 * double.Parse(Poll, System.Globalization.CultureInfo.InvariantCulture) * 1000; // the waits before the 3 looks
        var engine = batchTotal.Select(x => x - window - polls).ToList();
        result.Tables.Add(new Table
        {
            Caption = $"`$prompts | Start-LlmTask -Model openai/gpt-4o-mini -AsBatch` then `Wait-LlmTask`, against the tests' fake of OpenAI's Files and Batch API "
                + $"($env:LLMTASKS_BATCH_WINDOW_SECONDS = {Window}, $env:LLMTASKS_BATCH_POLL_SECONDS = {Poll}: the fake moves one state per look, so the engine looks again after {Poll} s); "
                + $"and the same prompts live, `-ThrottleLimit 64`, to the bench's loopback chat endpoint (Kestrel, no delay). SQLite store, {o.Runs} runs of each after a warm-up, alternating, each on a new store.",
            Columns = ["measure", "batch (-AsBatch)", "live"],
        }
            .Add("start phase: Start-LlmTask over all prompts (ms)", Stats.Of(batchStart).Show(), Stats.Of(liveStart).Show())
            .Add("batches the tasks went in", Stats.Of(batches).Show("0"), "")
            .Add("first gathered → last sent: JSONL written, uploaded, batch created (ms)", Stats.Of(submit).Show(), "")
            .Add("last sent → last ended: 3 looks, output file downloaded, results written to their tasks (ms)", Stats.Of(collect).Show(), "")
            .Add("**total, Start-LlmTask to the last task back from Wait-LlmTask (ms)**", "**" + Stats.Of(batchTotal).Show() + "**", "**" + Stats.Of(liveTotal).Show() + "**")
            .Add("**total: µs per task**", "**" + PerTask(batchTotal) + "**", "**" + PerTask(liveTotal) + "**")
            .Add($"total less the {window:0} ms gathering window and the {polls:0} ms of waits between looks: µs per task", PerTask(engine), ""));
        result.Notes.Add($"What a batch task costs the engine: its row and its request (in the JSONL that is uploaded), the batch's row, the polls, and its result "
            + "written with an attempt row, in shared transactions. The fake runs in the bench's process and serves every request on a connection of its own "
            + "(it is the tests' fake, not a fast server), so its parsing of the upload and writing of the output file are in the batch numbers. "
            + "The live column is the same tasks as calls of their own (streamed, as LlmTasks sends them by default) to a server that answers at once: "
            + "what the engine costs per live task when the provider takes no time.");
        var perTask = Stats.Of(engine.Select(x => x * 1000 / n).ToArray()).Median;
        var livePerTask = Stats.Of(liveTotal.Select(x => x * 1000 / n).ToArray()).Median;
        result.Targets.Add(new TargetCheck($"{Format.Int(n)} batched tasks submitted and collected: engine µs per task (the gathering window and the waits between looks left out)",
            $"{perTask:0} µs ({livePerTask:0} µs live)", "no more than a live task's", perTask <= livePerTask));
        return result;
    }

    private static SecureString Key(string text)
    {
        var key = new SecureString();
        foreach (var ch in text)
        {
            key.AppendChar(ch);
        }

        key.MakeReadOnly();
        return key;
    }
}

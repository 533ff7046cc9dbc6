using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Security;
using System.Text;

namespace LlmTasks.Bench.Scenarios;

/// <summary>
/// Scenario 9: N tasks through a loopback endpoint that enforces requests per minute the way OpenAI does
/// (<see cref="QuotaEndpoint"/>: a token bucket holding a second of the rate, 429 + retry-after-ms + x-ratelimit-*),
/// four ways: LlmTasks (Start-LlmTask -ThrottleLimit 64 | Wait-LlmTask, nothing configured: the limit is learned from
/// the headers), a fixed concurrency of 64 (HttpClient, each call retried up to 3 times after the server's
/// retry-after-ms, as a careful script does), ForEach-Object -Parallel -ThrottleLimit 64 with Invoke-RestMethod
/// -MaximumRetryCount 3 (which waits out Retry-After), and LlmTasks in four processes on one store, a quarter each.
/// Measured: the share of the allowed rate achieved (answered ÷ what the bucket allowed over the run: its second of
/// burst plus the rate × the time from the first request to the run's end) and the share of requests answered 429.
/// </summary>
internal static class Quota
{
    private const string LlmTasksScript = """
        param($prompts, $store, $apiBase, $key, $model)
        $done = $prompts | Start-LlmTask -Model $model -ApiBase $apiBase -ApiKey $key -ThrottleLimit 64 -StorePath $store | Wait-LlmTask
        @($done | Where-Object State -eq Completed).Count
        """;

    // What a pwsh user writes (a shared HttpClient, as scenario 2; a 429 retried up to 3 times after its retry-after-ms).
    private const string ParallelScript = """
        param($prompts, $url)
        $client = [System.Net.Http.HttpClient]::new()
        $answers = $prompts | ForEach-Object -ThrottleLimit 64 -Parallel {
            $body = '{"model":"bench","messages":[{"role":"user","content":"' + $_ + '"}]}'
            for ($try = 0; $try -le 3; $try++) {
                $content = [System.Net.Http.StringContent]::new($body, [System.Text.Encoding]::UTF8, 'application/json')
                $response = ($using:client).PostAsync($using:url, $content).GetAwaiter().GetResult()
                if ($response.IsSuccessStatusCode) { 'pong'; break }
                $wait = 1000
                $values = $null
                if ($response.Headers.TryGetValues('retry-after-ms', [ref] $values)) { $wait = [double]@($values)[0] }
                [System.Threading.Thread]::Sleep([int]$wait)
            }
        }
        $client.Dispose()
        @($answers | Where-Object { $_ -eq 'pong' }).Count
        """;

    private const string PartScript = """
        param($prompts, $store, $apiBase, $key, $model, $go)
        while (-not [System.IO.File]::Exists($go)) { [System.Threading.Thread]::Sleep(5) }
        $done = $prompts | Start-LlmTask -Model $model -ApiBase $apiBase -ApiKey $key -ThrottleLimit 64 -StorePath $store | Wait-LlmTask
        @($done | Where-Object State -eq Completed).Count
        """;

    private sealed record Outcome(string Way, int Completed, int Answered, int Limited, double Span, double Allowed);

    public static ScenarioResult Run(BenchOptions o, Workspace work) => RunAsync(o, work).GetAwaiter().GetResult();

    /// <summary>One of the four processes: its quarter of the prompts, once the go file appears.</summary>
    public static int RunPart(BenchOptions o)
    {
        using var ps = new PsSession();
        using var key = Key();
        var first = o.QuotaPart * o.QuotaTasks;
        var prompts = Enumerable.Range(first + 1, o.QuotaTasks).Select(i => "question " + i).ToArray();
        Console.Out.WriteLine("ready");
        Console.Out.Flush();
        var completed = ps.Numbers(PartScript, prompts, o.DrainStore, Environment.GetEnvironmentVariable(ApiBaseVariable), key, "openai/bench", o.DrainGo);
        Console.Out.WriteLine($"completed {completed[0]}");
        return 0;
    }

    private const string ApiBaseVariable = "LLMTASKS_BENCH_QUOTA_BASE";

    private static async Task<ScenarioResult> RunAsync(BenchOptions o, Workspace work)
    {
        var n = o.QuotaTasks;
        var prompts = Enumerable.Range(1, n).Select(i => "question " + i).ToArray();
        await using var endpoint = await QuotaEndpoint.StartAsync(o.QuotaRpm);
        using var ps = new PsSession();
        _ = LlmTasksRoute.Find(ps, work);
        using var key = Key();
        var outcomes = new List<Outcome>();

        Outcome Measure(string way, Func<int> run)
        {
            endpoint.Reset();
            var completed = run();
            var span = endpoint.SinceFirst(); // until the run ended: a way that gives up early used less of the time it had
            var allowed = endpoint.Capacity + endpoint.RequestsPerMinute / 60.0 * span;
            var outcome = new Outcome(way, completed, endpoint.Answered, endpoint.RateLimited, span, allowed);
            Console.Error.WriteLine($"  {way}: {completed} of {n} completed, {outcome.Answered} answered, {outcome.Limited} answered 429, {span:0.0} s");
            return outcome;
        }

        // A warm-up: the module, the provider and the store's first writes, so the measured run is the quota's.
        ps.Numbers(LlmTasksScript, prompts.Take(50).ToArray(), work.NewStore(), endpoint.ApiBase, key, "openai/bench");
        Thread.Sleep(1500); // the bucket refills, and the learned limit is forgotten with the store (a new manager)

        outcomes.Add(Measure("LlmTasks (`Start-LlmTask -ThrottleLimit 64`, nothing configured)",
            () => (int)ps.Numbers(LlmTasksScript, prompts, work.NewStore(), endpoint.ApiBase, key, "openai/bench")[0]));
        outcomes.Add(Measure("Fixed concurrency 64 (HttpClient, 3 retries after retry-after-ms)", () => FixedAsync(endpoint, prompts).GetAwaiter().GetResult()));
        outcomes.Add(Measure("`ForEach-Object -Parallel -ThrottleLimit 64` (HttpClient, 3 retries after retry-after-ms)",
            () => (int)ps.Numbers(ParallelScript, prompts, endpoint.ApiBase + "/chat/completions")[0]));
        outcomes.Add(Measure("LlmTasks in 4 processes on one store (a quarter each)", () => FourProcesses(o, work, endpoint)));

        var result = new ScenarioResult { Title = $"Rate limits: {Format.Int(n)} tasks through an endpoint that allows {Format.Int(o.QuotaRpm)} requests/min" };
        var table = new Table
        {
            Caption = $"The loopback endpoint enforces {Format.Int(o.QuotaRpm)} requests/min as OpenAI does: a token bucket refilled at {Format.N(o.QuotaRpm / 60.0, "0")}/s holding a second of it " +
                      "(full at the start), past it 429 with `retry-after-ms`, and `x-ratelimit-limit|remaining|reset-requests` on every answer; it answers at once. " +
                      "Allowed = the bucket's second plus the rate × the time from the first request to the end of the run (every task finished or given up); 429 share = requests answered 429 ÷ all requests. One run each.",
            Columns = ["way", "completed", "requests", "answered 429", "429 share", "time s", "share of the allowed rate"],
        };
        foreach (var r in outcomes)
        {
            var requests = r.Answered + r.Limited;
            table.Add(r.Way, $"{Format.Int(r.Completed)} of {Format.Int(n)}", Format.Int(requests), Format.Int(r.Limited),
                Format.N(100.0 * r.Limited / Math.Max(1, requests), "0.0") + " %", Format.N(r.Span, "0.0"), Format.N(100.0 * r.Answered / r.Allowed, "0.0") + " %");
        }

        result.Tables.Add(table);
        foreach (var (r, label) in new[] { (outcomes[0], "one process"), (outcomes[3], "four processes on one store") })
        {
            var share = 100.0 * r.Answered / r.Allowed;
            var limited = 100.0 * r.Limited / Math.Max(1, r.Answered + r.Limited);
            result.Targets.Add(new TargetCheck($"LlmTasks, {label}: share of the allowed rate", Format.N(share, "0.0") + " %", "≥ 95 %", share >= 95));
            result.Targets.Add(new TargetCheck($"LlmTasks, {label}: share of calls answered 429", Format.N(limited, "0.0") + " %", "≤ 1 %", limited <= 1));
        }

        return result;
    }

    private static async Task<int> FixedAsync(QuotaEndpoint endpoint, string[] prompts)
    {
        using var client = new HttpClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "sk-bench");
        using var gate = new SemaphoreSlim(64);
        var ok = 0;
        var url = endpoint.ApiBase + "/chat/completions";
        await Task.WhenAll(prompts.Select(async prompt =>
        {
            await gate.WaitAsync();
            try
            {
                for (var attempt = 0; attempt <= 3; attempt++)
                {
                    using var content = new StringContent("{\"model\":\"bench\",\"messages\":[{\"role\":\"user\",\"content\":\"" + prompt + "\"}]}", Encoding.UTF8, "application/json");
                    using var response = await client.PostAsync(url, content);
                    if (response.IsSuccessStatusCode)
                    {
                        Interlocked.Increment(ref ok);
                        return;
                    }

                    var wait = response.Headers.TryGetValues("retry-after-ms", out var values) && double.TryParse(values.First(), CultureInfo.InvariantCulture, out var ms) ? ms : 1000;
                    await Task.Delay(TimeSpan.FromMilliseconds(wait));
                }
            }
            finally
            {
                gate.Release();
            }
        }));
        return ok;
    }

    private static int FourProcesses(BenchOptions o, Workspace work, QuotaEndpoint endpoint)
    {
        var store = work.NewStore();
        var go = Path.Combine(work.Folder, $"go-{Guid.NewGuid():N}");
        var processes = new List<Process>();
        try
        {
            for (var i = 0; i < 4; i++)
            {
                var start = new ProcessStartInfo(Environment.ProcessPath!) { UseShellExecute = false, RedirectStandardOutput = true };
                if (Path.GetFileNameWithoutExtension(Environment.ProcessPath!) == "dotnet")
                {
                    start.ArgumentList.Add(typeof(Quota).Assembly.Location);
                }

                foreach (var a in new[] { "--worker", "quota-part", "--drain-store", store, "--drain-go", go, "--quota-part", I(i), "--quota-tasks", I(o.QuotaTasks / 4) })
                {
                    start.ArgumentList.Add(a);
                }

                start.Environment[ApiBaseVariable] = endpoint.ApiBase;
                processes.Add(Process.Start(start)!);
            }

            foreach (var p in processes)
            {
                if (p.StandardOutput.ReadLine() != "ready")
                {
                    throw new InvalidOperationException("A quota process did not start.");
                }
            }

            endpoint.Reset();
            File.WriteAllText(go, string.Empty);
            return processes.Sum(p =>
            {
                var line = p.StandardOutput.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries).LastOrDefault() ?? string.Empty;
                p.WaitForExit();
                return line.StartsWith("completed ", StringComparison.Ordinal) ? (int)double.Parse(line[10..], CultureInfo.InvariantCulture) : 0;
            });
        }
        finally
        {
            foreach (var p in processes)
            {
                if (!p.HasExited)
                {
                    p.Kill(entireProcessTree: true);
                }

                p.Dispose();
            }
        }
    }

    private static string I(int n) => n.ToString(CultureInfo.InvariantCulture);

    private static SecureString Key()
    {
        var key = new SecureString();
        foreach (var ch in "sk-bench-not-a-real-key")
        {
            key.AppendChar(ch);
        }

        key.MakeReadOnly();
        return key;
    }
}

using System.Diagnostics;
using System.Net;
using System.Text.Json;
using LlmTasks.Tests.Http;
using Xunit.Abstractions;

namespace LlmTasks.PowerShell.Tests;

/// <summary>
/// Workers on many machines sharing one PostgreSQL store: four hosts (network namespaces with host names of their
/// own), each running Invoke-LlmTaskWorker in real pwsh, reach the server and a fake OpenAI-compatible provider
/// over links the test makes. Needs root (namespaces): skipped locally without it, failed on CI.
/// </summary>
public sealed class ManyHostTests(ITestOutputHelper output)
{
    private const int Hosts = 4;
    private const int Tasks = 10_000;
    private const int LeaseSeconds = 10;

    [SkippableFact]
    public async Task Four_hosts_drain_10000_tasks_with_none_lost_or_run_twice_and_a_killed_hosts_tasks_finish_on_the_others_after_its_lease()
    {
        var ci = !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("CI"));
        Skip.If(!NetworkHosts.CanRun && !ci, "network namespaces need root and iproute2");
        Assert.True(NetworkHosts.CanRun, "CI runs as root with iproute2: the many-host test must run there");

        using var hosts = new NetworkHosts(Hosts);
        using var server = new PostgresServer(hosts.Addresses, hosts.Subnet);
        var database = server.CreateDatabase();
        static Reply Echo(RecordedRequest request) =>
            Reply.Json(200, RecordedResponses.OpenAIChat(request.Json.GetProperty("messages")[0].GetProperty("content").GetString()!));
        using var provider = new LoopbackServer(IPAddress.Parse(hosts.ServerAddress)).Script(Reply.From(Echo));

        // The host to be killed calls a provider of its own, which stops answering once the test is about to kill it:
        // the calls it has in flight then cannot end between the look at what it holds and the SIGKILL. (With one
        // provider answering at once, a host holding its last few running tasks could finish them in that moment and
        // hold nothing when it died.)
        var freeze = 0;
        using var victimProvider = new LoopbackServer(IPAddress.Parse(hosts.ServerAddress)).Script(Reply.From(request =>
            Volatile.Read(ref freeze) == 1 ? Reply.Hang() : Echo(request)));
        using var nowhere = new LoopbackServer().Script(Reply.Hang()); // the seeding process's one call never ends
        var store = server.ConnectionString(database, hosts.ServerAddress);
        output.WriteLine(hosts.ToString());

        // The tasks are queued from this machine by a session that runs (at most) one of them and exits: it hands
        // everything back, so the hosts find 10,000 unleased Pending tasks.
        var seeded = Pwsh.Command($"""
            $null = 1..{Tasks} | ForEach-Object {"{"} "many $_" {"}"} | Start-LlmTask -Model vllm/echo -Name many -ThrottleLimit 1
            "seeded $(@(Get-LlmTask -Name many).Count)"
            """, store, timeoutSeconds: 600, environment: new Dictionary<string, string?> { ["VLLM_BASE_URL"] = nowhere.Url + "/v1" });
        Assert.True(seeded.ExitCode == 0, seeded.Errors);
        Assert.Contains($"seeded {Tasks}", seeded.Output);

        // Each host works until the store has nothing left to run: a worker run until empty ends while a dead host's
        // tasks are still leased (only the lease's expiry can tell a machine is gone), so it runs again until none is left.
        const string work = """
            $deadline = [datetime]::UtcNow.AddMinutes(8)
            while (@(Get-LlmTask -Name many -State Pending, Running).Count -gt 0 -and [datetime]::UtcNow -lt $deadline) {
                $null = Invoke-LlmTaskWorker -Name many -UntilEmpty -ThrottleLimit 16
                [System.Threading.Thread]::Sleep(250)
            }
            "host $([System.Net.Dns]::GetHostName()) done"
            """;
        var environment = new Dictionary<string, string?>
        {
            ["LLMTASKS_STORE"] = store,
            ["VLLM_BASE_URL"] = provider.Url + "/v1",
            ["LLMTASKS_LEASE_SECONDS"] = LeaseSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        var victimEnvironment = new Dictionary<string, string?>(environment) { ["VLLM_BASE_URL"] = victimProvider.Url + "/v1" };
        var workers = Enumerable.Range(0, Hosts)
            .Select(i => Pwsh.Start(["-Command", work], i == Hosts - 1 ? victimEnvironment : environment, hosts.Launcher(i))).ToList();
        var outputs = workers.Select(p => (Out: p.StandardOutput.ReadToEndAsync(), Err: p.StandardError.ReadToEndAsync())).ToList();
        try
        {
            var db = new StoreInspector(server.ConnectionString(database));
            var victim = NetworkHosts.HostName(Hosts - 1);
            var deadline = DateTime.UtcNow.AddMinutes(5);
            while (!(db.Scalar<long>("SELECT count(*) FROM tasks WHERE state = 'Completed'") >= Tasks / 4
                     && db.Scalar<long>("SELECT count(*) FROM attempts WHERE outcome = 'Succeeded' AND owner LIKE $v", ("$v", victim + ":%")) > 0)
                   && DateTime.UtcNow < deadline)
            {
                await Task.Delay(50);
            }

            // From now on the victim's calls hang: it is killed once it has one running (which can no longer end).
            Volatile.Write(ref freeze, 1);
            while (db.Scalar<long>("SELECT count(*) FROM tasks WHERE state = 'Running' AND lease_owner LIKE $v", ("$v", victim + ":%")) == 0
                   && DateTime.UtcNow < deadline)
            {
                await Task.Delay(50);
            }

            // The whole host goes: SIGKILL, so nothing of it hands anything back.
            workers[^1].Kill();
            await workers[^1].WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
            var killedAt = db.Scalar<long>("SELECT (extract(epoch from clock_timestamp()) * 1000)::bigint");
            var orphans = db.Scalar<long>("SELECT count(*) FROM tasks WHERE lease_owner LIKE $v AND state IN ('Pending', 'Running')", ("$v", victim + ":%"));
            db.Execute("CREATE TABLE public.orphans AS SELECT id, lease_expires_at FROM tasks WHERE lease_owner LIKE $v AND state IN ('Pending', 'Running')", ("$v", victim + ":%"));
            Assert.True(orphans > 0, "the killed host should hold tasks");
            output.WriteLine($"killed {victim} holding {orphans} tasks after {db.Scalar<long>("SELECT count(*) FROM tasks WHERE state = 'Completed'")} completed");

            var others = workers.Take(Hosts - 1).ToList();
            try
            {
                await Task.WhenAll(others.Select(p => p.WaitForExitAsync())).WaitAsync(TimeSpan.FromMinutes(9));
            }
            catch (TimeoutException)
            {
                Assert.Fail("the hosts did not drain the store within 9 minutes");
            }

            for (var i = 0; i < others.Count; i++)
            {
                var errors = await outputs[i].Err;
                Assert.True(others[i].ExitCode == 0 && string.IsNullOrWhiteSpace(errors), $"host {i}: {errors}");
                Assert.Contains($"host {NetworkHosts.HostName(i)} done", await outputs[i].Out);
            }

            // 0 lost, 0 run twice: every task completed with its own answer, by exactly one successful call.
            var odd = db.Scalar<long>("SELECT count(*) FROM tasks WHERE state <> 'Completed' OR output IS DISTINCT FROM prompt");
            if (odd > 0)
            {
                // What happened to them, for whoever reads a failed run.
                output.WriteLine(db.Scalar<string>(
                    "SELECT string_agg(t.id || ' ' || t.state || ' ' || coalesce(t.error_kind, '') || ' ' || left(coalesce(t.error, t.output, ''), 300) || ' attempts: ' || " +
                    "coalesce((SELECT string_agg(a.outcome || '/' || coalesce(a.error_kind, '') || '/' || coalesce(a.owner, ''), ', ' ORDER BY a.id) FROM attempts a WHERE a.task_id = t.id), ''), ' | ') " +
                    "FROM (SELECT * FROM tasks WHERE state <> 'Completed' OR output IS DISTINCT FROM prompt LIMIT 5) t"));
            }

            Assert.Equal(Tasks, db.Scalar<long>("SELECT count(*) FROM tasks WHERE state = 'Completed' AND output = prompt"));
            Assert.Equal(Tasks, db.Scalar<long>("SELECT count(DISTINCT prompt) FROM tasks"));
            Assert.Equal(Tasks, db.Scalar<long>("SELECT count(*) FROM attempts WHERE outcome = 'Succeeded'"));
            Assert.Equal(Tasks, db.Scalar<long>("SELECT count(DISTINCT task_id) FROM attempts WHERE outcome = 'Succeeded'"));
            Assert.Equal("ok", db.IntegrityCheck());
            for (var i = 0; i < Hosts; i++)
            {
                Assert.True(db.Scalar<long>("SELECT count(*) FROM attempts WHERE outcome = 'Succeeded' AND owner LIKE $h", ("$h", NetworkHosts.HostName(i) + ":%")) > 0, $"host {i} ran nothing");
            }

            // The killed host's tasks finished on the others, each taken over once its lease (on the server's clock) ran out.
            Assert.Equal(0, db.Scalar<long>("""
                SELECT count(*) FROM public.orphans o JOIN attempts a ON a.task_id = o.id AND a.outcome = 'Succeeded'
                WHERE a.owner LIKE $v OR a.started_at < o.lease_expires_at
                """, ("$v", victim + ":%")));
            var finished = db.Scalar<long>("SELECT max(t.completed_at) FROM public.orphans o JOIN tasks t ON t.id = o.id");
            output.WriteLine($"the killed host's tasks finished elsewhere {(finished - killedAt) / 1000.0:0.0} s after the kill (lease {LeaseSeconds} s)");
            Assert.True(provider.Requests.Count + victimProvider.Requests.Count >= Tasks);
        }
        finally
        {
            foreach (var worker in workers)
            {
                if (!worker.HasExited)
                {
                    worker.Kill();
                }

                worker.Dispose();
            }
        }
    }
}

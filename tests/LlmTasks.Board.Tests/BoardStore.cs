using System.Globalization;
using LlmTasks.Execution;
using LlmTasks.Verification;
using Microsoft.Data.Sqlite;

namespace LlmTasks.Board.Tests;

/// <summary>
/// A store with a history worth looking at: three days of finished tasks on four priced models (written with SQL, as the
/// engine writes them: a task row and its attempt rows), and tasks this process ran through the engine itself: ones that
/// need review (a failed check, with its reason) and one answered right on its second attempt.
/// </summary>
public sealed class BoardStore : IDisposable
{
    public static readonly (string Model, double LatencyS, decimal InUsdPerM, decimal OutUsdPerM)[] Models =
    [
        ("openai/gpt-4o-mini", 0.8, 0.15m, 0.60m),
        ("anthropic/claude-sonnet-4-5", 2.6, 3m, 15m),
        ("azure/gpt-4o", 1.5, 2.5m, 10m),
        ("max/claude-opus-4-1", 6.0, 15m, 75m),
    ];

    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("llmtasks-board-");

    public BoardStore()
    {
        Path = System.IO.Path.Combine(_folder.FullName, "tasks.db");
        Manager = TaskManager.Open(Path);
        SeedHistory(Path, Manager.Store.NowMs);

        var plan = new VerificationPlan { Checks = [new CheckSpec { Type = "Contains", Name = "cites a source", Text = ["Source:"] }] };
        Review = [.. Enumerable.Range(1, 3).Select(i => Manager.Start(new LlmTaskRequest
        {
            Model = "mock/echo",
            Name = $"review-{i}",
            Messages = [new LlmMessage(LlmRole.User, $"Summarise ticket #{4100 + i} for the weekly report.")],
            MockResponse = $"Ticket #{4100 + i}: the export job timed out twice and was fixed by raising the limit.",
            Verification = plan,
        }).Id)];
        Reasked = Manager.Start(new LlmTaskRequest
        {
            Model = "mock/sequence",
            Name = "release-notes",
            Messages =
            [
                new LlmMessage(LlmRole.System, "You write release notes for administrators. Answer in JSON."),
                new LlmMessage(LlmRole.User, "Write the release note for version 2.4: the task board, search and plots."),
            ],
            ProviderOptions = new ProviderOptions { MockResponses = ["Version 2.4 adds a task board.", """{"version":"2.4","notes":["A live task board","Search and filters","Plots"]}"""] },
            Verification = new VerificationPlan { Checks = [new CheckSpec { Type = "Json", Name = "is JSON" }], MaxAttempts = 2 },
        }).Id;
        WaitFinished([.. Review, Reasked]);
    }

    public string Path { get; }

    /// <summary>The engine in this process: a change made here is a change made elsewhere for the board in pwsh.</summary>
    public TaskManager Manager { get; }

    /// <summary>Tasks that ended NeedsReview (their answer lacks "Source:").</summary>
    public IReadOnlyList<long> Review { get; }

    /// <summary>A task whose first answer failed its check and whose second passed.</summary>
    public long Reasked { get; }

    public IReadOnlyList<LlmTask> WaitFinished(IReadOnlyCollection<long> ids, int seconds = 60)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (true)
        {
            var tasks = Manager.Store.Query(new Storage.TaskQuery { Ids = ids });
            if (tasks.Count == ids.Count && tasks.All(t => t.IsFinished))
            {
                return tasks;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Tasks {string.Join(", ", ids)} did not finish in {seconds} s.");
            }

            Thread.Sleep(50);
        }
    }

    public void Dispose()
    {
        Manager.Dispose();
        SqliteConnection.ClearAllPools();
        try
        {
            _folder.Delete(recursive: true);
        }
        catch (IOException)
        {
        }
    }

    /// <summary>
    /// 900 finished tasks: 600 spread over the three days before now, 300 in the last 40 minutes; names nightly-&lt;day&gt;
    /// and adhoc-&lt;n&gt;; mostly Completed, some Failed, NeedsReview and Cancelled; tokens, costs and latencies per model.
    /// </summary>
    private static void SeedHistory(string path, long nowMs)
    {
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ConnectionString);
        connection.Open();
        using var transaction = connection.BeginTransaction();
        using var task = connection.CreateCommand();
        task.Transaction = transaction;
        task.CommandText = """
            INSERT INTO tasks (instance_id, name, state, model, provider, prompt, request_json, output, error, error_kind, attempts,
                               input_tokens, output_tokens, cost_nanousd, created_at, started_at, completed_at)
            VALUES ($iid, $name, $state, $model, $provider, $prompt, $request, $output, $error, $kind, 1, $in, $out, $cost, $created, $started, $completed)
            RETURNING id
            """;
        string[] names = ["$iid", "$name", "$state", "$model", "$provider", "$prompt", "$request", "$output", "$error", "$kind", "$in", "$out", "$cost", "$created", "$started", "$completed"];
        var p = names.ToDictionary(n => n, n => task.Parameters.Add(new SqliteParameter { ParameterName = n }));
        using var attempt = connection.CreateCommand();
        attempt.Transaction = transaction;
        attempt.CommandText = """
            INSERT INTO attempts (task_id, number, outcome, request_json, output, error, error_kind, started_at, latency_ms, first_token_ms, input_tokens, output_tokens, cost_nanousd, details)
            VALUES ($task, 1, $outcome, $request, $output, $error, $kind, $started, $latency, $ttft, $in, $out, $cost, $details)
            """;
        string[] attemptNames = ["$task", "$outcome", "$request", "$output", "$error", "$kind", "$started", "$latency", "$ttft", "$in", "$out", "$cost", "$details"];
        var a = attemptNames.ToDictionary(n => n, n => attempt.Parameters.Add(new SqliteParameter { ParameterName = n }));

        var random = new Random(15);
        const int total = 900;
        for (var i = 0; i < total; i++)
        {
            var (model, latencyS, inPrice, outPrice) = Models[random.Next(100) switch { < 45 => 0, < 70 => 1, < 90 => 2, _ => 3 }];
            var created = i < 600
                ? nowMs - (long)TimeSpan.FromDays(3).TotalMilliseconds + i * (long)TimeSpan.FromDays(3).TotalMilliseconds / 600
                : nowMs - (long)TimeSpan.FromMinutes(40).TotalMilliseconds + (i - 600) * (long)TimeSpan.FromMinutes(40).TotalMilliseconds / 300;
            var state = random.Next(100) switch { < 84 => "Completed", < 92 => "Failed", < 96 => "NeedsReview", _ => "Cancelled" };
            var latencyMs = latencyS * 1000 * (0.5 + random.NextDouble() + (random.Next(20) == 0 ? 2 : 0));
            var started = created + 20 + random.Next(400);
            var completed = started + (long)latencyMs;
            var day = DateTimeOffset.FromUnixTimeMilliseconds(created).ToLocalTime().ToString("MMdd", CultureInfo.InvariantCulture);
            var name = i % 3 == 0 ? $"nightly-{day}" : $"adhoc-{i}";
            var prompt = i % 3 == 0 ? $"Classify support ticket #{3000 + i} as bug, question or request." : $"Summarise incident report {i} in two sentences.";
            var request = $$"""{"model":"{{model}}","messages":[{"role":"user","content":"{{prompt}}"}],"name":"{{name}}"}""";
            long inTokens = 120 + random.Next(600), outTokens = state == "Cancelled" ? 0 : 40 + random.Next(300);
            var cost = (long)((inTokens * inPrice + outTokens * outPrice) / 1_000_000m * 1_000_000_000m);
            object output = state is "Completed" or "NeedsReview" ? (i % 3 == 0 ? "bug" : $"Incident {i} was caused by an expired certificate; it was renewed within the hour.") : DBNull.Value;
            object error = state == "Failed" ? "The provider answered 429 Too Many Requests after 3 retries." : state == "Cancelled" ? "Stopped by Stop-LlmTask." : DBNull.Value;
            object kind = state == "Failed" ? "RateLimited" : state == "Cancelled" ? "Cancelled" : DBNull.Value;
            p["$iid"].Value = Guid.NewGuid().ToString("D");
            p["$name"].Value = name;
            p["$state"].Value = state;
            p["$model"].Value = model;
            p["$provider"].Value = model.Split('/')[0];
            p["$prompt"].Value = prompt;
            p["$request"].Value = request;
            p["$output"].Value = output;
            p["$error"].Value = error;
            p["$kind"].Value = kind;
            p["$in"].Value = inTokens;
            p["$out"].Value = outTokens;
            p["$cost"].Value = state == "Cancelled" ? DBNull.Value : cost;
            p["$created"].Value = created;
            p["$started"].Value = started;
            p["$completed"].Value = completed;
            var id = (long)task.ExecuteScalar()!;
            a["$task"].Value = id;
            a["$outcome"].Value = state switch { "Completed" or "NeedsReview" => "Succeeded", "Cancelled" => "Cancelled", _ => "Failed" };
            a["$request"].Value = request;
            a["$output"].Value = output;
            a["$error"].Value = error;
            a["$kind"].Value = kind;
            a["$started"].Value = started;
            a["$latency"].Value = latencyMs;
            a["$ttft"].Value = latencyMs * 0.3;
            a["$in"].Value = inTokens;
            a["$out"].Value = outTokens;
            a["$cost"].Value = state == "Cancelled" ? DBNull.Value : cost;
            a["$details"].Value = state == "Failed" ? """{"status":429,"retryAfterSeconds":20,"requestId":"req_8f2c"}""" : DBNull.Value;
            attempt.ExecuteNonQuery();
        }

        transaction.Commit();
    }
}

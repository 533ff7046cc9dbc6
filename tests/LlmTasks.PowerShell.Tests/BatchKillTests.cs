using LlmTasks.Tests.Stores;

namespace LlmTasks.PowerShell.Tests;

/// <summary>
/// A real pwsh that sent an -AsBatch batch is killed with SIGKILL while the batch is at the (mock) provider: another real
/// pwsh's Wait-LlmTask takes the batch over from the stored provider batch id and collects every result, sending nothing again.
/// </summary>
public sealed class BatchKillTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "llmtasks-batchkill", Guid.NewGuid().ToString("N"));

    public BatchKillTests() => Directory.CreateDirectory(_folder);

    public void Dispose()
    {
        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    [Fact]
    public async Task A_batch_whose_sender_is_killed_is_collected_by_a_wait_in_another_process_from_its_provider_id()
    {
        var store = Path.Combine(_folder, "tasks.db");
        var provider = Path.Combine(_folder, "provider");
        var environment = new Dictionary<string, string?>
        {
            ["LLMTASKS_LEASE_SECONDS"] = "600", // the batch's lease has ten minutes left when its process dies
            ["LLMTASKS_MOCK_BATCH_DIR"] = provider,
            ["LLMTASKS_MOCK_BATCH_SECONDS"] = "6",
            ["LLMTASKS_BATCH_WINDOW_SECONDS"] = "0.5",
            ["LLMTASKS_BATCH_POLL_SECONDS"] = "1",
        };
        using var sender = Pwsh.Start(["-Command", """
            $null = 1..20 | ForEach-Object { "question $_" } | Start-LlmTask -Model mock/echo -AsBatch -Name killed
            while (-not (Get-LlmTaskBatch).ProviderBatchId) { Start-Sleep -Milliseconds 100 }
            'sent'
            Start-Sleep 300
            """], Pwsh.WithStore(store, environment));
        Assert.Equal("sent", await sender.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(120)));
        var inspector = new StoreInspector(store);
        Assert.Equal(20L, inspector.Scalar<long>("SELECT count(*) FROM tasks WHERE state = 'Running' AND batch_id IS NOT NULL"));
        Assert.Equal(0L, inspector.Scalar<long>("SELECT count(*) FROM attempts"));

        sender.Kill(); // SIGKILL: no code of its runs, nothing is handed back
        await sender.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Contains($":{sender.Id}:", inspector.Scalar<string>("SELECT lease_owner FROM batches")); // still the dead process's lease

        var collect = Pwsh.Command("""
            $done = Get-LlmTask -Name killed | Wait-LlmTask -Timeout 120
            $done | ForEach-Object { '{0}|{1}|{2}' -f $_.State, $_.Prompt, $_.Output }
            """, store, timeoutSeconds: 180, environment: environment);
        var lines = collect.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.True(lines.Length == 20, $"exit {collect.ExitCode}\n{collect.Output}\n{collect.Errors}");
        Assert.All(lines, line =>
        {
            var parts = line.Split('|');
            Assert.Equal(("Completed", parts[1]), (parts[0], parts[2])); // each answer reached the task it belongs to
        });
        Assert.Equal(20L, inspector.Scalar<long>("SELECT count(*) FROM attempts WHERE outcome = 'Succeeded'"));
        Assert.Equal(20L, inspector.Scalar<long>("SELECT count(*) FROM attempts"));
        Assert.Equal("Completed", inspector.Scalar<string>("SELECT state FROM batches"));
        Assert.Single(Directory.GetFiles(provider, "*.json")); // collected from the id it had: not sent again
    }

    [Fact]
    public void Wait_LlmTask_progress_shows_the_providers_state_of_the_batch_its_tasks_are_in()
    {
        var store = Path.Combine(_folder, "progress.db");
        using var session = new PowerShellSession(store);
        var provider = Path.Combine(_folder, "provider").Replace("'", "''");
        var result = session.Run("""
            $env:LLMTASKS_MOCK_BATCH_DIR = 'PROVIDER'
            $env:LLMTASKS_MOCK_BATCH_SECONDS = '4'
            try {
                $tasks = 'one', 'two', 'three' | Start-LlmTask -Model mock/echo -AsBatch
                $tasks | Wait-LlmTask -Timeout 120 | ForEach-Object State
            }
            finally { $env:LLMTASKS_MOCK_BATCH_SECONDS = $null; $env:LLMTASKS_MOCK_BATCH_DIR = $null }
            """.Replace("PROVIDER", provider));
        Assert.Equal(["Completed", "Completed", "Completed"], result.Output.Select(o => o.ToString()));
        var operations = result.Progress.Select(p => p.CurrentOperation).OfType<string>().ToList();
        Assert.True(operations.Any(o => System.Text.RegularExpressions.Regex.IsMatch(o, @"3 in mockbatch_\w+: in_progress, \d of 3 done")),
            "the progress should name the batch and the provider's state: " + string.Join(" | ", operations.Distinct()));
    }
}

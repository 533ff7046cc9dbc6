using System.Text.Json;
using Xunit.Abstractions;

namespace LlmTasks.PowerShell.Tests;

/// <summary>
/// The main cmdlet suite: every tests/Pester/*.Tests.ps1 file run by Pester 5.7.1 in real pwsh 7.6.9
/// (tests/Pester/Invoke-PesterSuite.ps1), one xunit case per file. A file passes only when every test
/// in it ran and passed: a skipped or not-run test fails it, so nothing is skipped because a tool is missing.
/// </summary>
public sealed class PesterSuiteTests(ITestOutputHelper output)
{
    public static TheoryData<string> Files()
    {
        var data = new TheoryData<string>();
        foreach (var file in Directory.GetFiles(Path.Combine(Repo.Root, "tests", "Pester"), "*.Tests.ps1").Order(StringComparer.Ordinal))
        {
            data.Add(Path.GetFileName(file));
        }

        return data;
    }

    /// <summary>
    /// The files whose store is $env:LLMTASKS_STORE when it names a PostgreSQL database: starting, waiting, receiving,
    /// selecting, stopping, removing, restarting and output order, run again on a PostgreSQL store.
    /// </summary>
    public static TheoryData<string> PostgresFiles() => new() { "LlmTasks.Tests.ps1", "Order.Tests.ps1", "Selection.Tests.ps1" };

    [Theory]
    [MemberData(nameof(Files))]
    public void Every_test_in_the_file_passes_in_real_pwsh(string file) => RunFile(file, postgres: false);

    [Theory]
    [MemberData(nameof(PostgresFiles))]
    public void Every_test_in_the_file_passes_in_real_pwsh_on_a_PostgreSQL_store(string file) => RunFile(file, postgres: true);

    private void RunFile(string file, bool postgres)
    {
        var folder = Directory.CreateTempSubdirectory("llmtasks-pester-");
        var database = postgres ? PostgresServer.Shared.CreateDatabase() : null;
        try
        {
            var resultPath = Path.Combine(folder.FullName, "result.json");
            var store = database is null ? Path.Combine(folder.FullName, "default.db") : PostgresServer.Shared.ConnectionString(database);
            var run = Pwsh.Run(
                ["-File", Path.Combine(Repo.Root, "tests", "Pester", "Invoke-PesterSuite.ps1"),
                 "-PesterManifest", Repo.PesterManifest, "-Path", Path.Combine(Repo.Root, "tests", "Pester", file), "-ResultPath", resultPath],
                new Dictionary<string, string?> { ["TMPDIR"] = folder.FullName, ["LLMTASKS_STORE"] = store },
                timeoutSeconds: 900);
            output.WriteLine(run.Output);
            Assert.True(File.Exists(resultPath), $"Pester wrote no result (exit code {run.ExitCode}).\n{run.Output}\n{run.Errors}");
            using var summary = JsonDocument.Parse(File.ReadAllText(resultPath));
            var root = summary.RootElement;
            var problems = root.GetProperty("Tests").EnumerateArray()
                .Where(t => t.GetProperty("Result").GetString() != "Passed")
                .Select(t => $"[{t.GetProperty("Result").GetString()}] {t.GetProperty("Name").GetString()}\n{t.GetProperty("Error").GetString()}")
                .Concat(root.GetProperty("FailedBlocks").EnumerateArray().Select(b => "[block] " + b.GetString()))
                .Concat(root.GetProperty("FailedContainers").EnumerateArray().Select(c => "[container] " + c.GetString()))
                .ToList();
            Assert.True(problems.Count == 0, string.Join("\n\n", problems) + "\n\nstderr:\n" + run.Errors);
            Assert.True(root.GetProperty("Passed").GetInt32() > 0, "no test ran");
            Assert.Equal(0, run.ExitCode);
        }
        finally
        {
            folder.Delete(recursive: true);
            if (database is not null)
            {
                PostgresServer.Shared.DropDatabase(database);
            }
        }
    }
}

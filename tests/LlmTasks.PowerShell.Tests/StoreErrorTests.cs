using System.Management.Automation;
using Microsoft.Data.Sqlite;

namespace LlmTasks.PowerShell.Tests;

/// <summary>Bad input and bad stores: each has its own error id and category, and no stored row changes.</summary>
public sealed class StoreErrorTests : IDisposable
{
    private readonly PowerShellSession _ps = new();

    public void Dispose() => _ps.Dispose();

    [Theory]
    [InlineData("Start-LlmTask 'x' -Model nope/model", "LlmTaskUnknownProvider", ErrorCategory.InvalidArgument)]
    [InlineData("Start-LlmTask 'x' -Model gpt-4o", "LlmTaskInvalidModel", ErrorCategory.InvalidArgument)]
    [InlineData("Start-LlmTask '' -Model mock/echo", "LlmTaskEmptyPrompt", ErrorCategory.InvalidArgument)]
    [InlineData("Start-LlmTask 'x' -Model mock/echo -TimeoutSec -5", "LlmTaskInvalidTimeout", ErrorCategory.InvalidArgument)]
    [InlineData("Start-LlmTask 'x' -Model mock/echo -Temperature 9", "LlmTaskInvalidTemperature", ErrorCategory.InvalidArgument)]
    [InlineData("Start-LlmTask 'x' -Model mock/echo -TimeoutSec 4294968", "LlmTaskInvalidTimeout", ErrorCategory.InvalidArgument)]
    [InlineData("Start-LlmTask 'x' -Model mock/echo -MaxTokens 0", "LlmTaskInvalidMaxTokens", ErrorCategory.InvalidArgument)]
    [InlineData("Start-LlmTask 'x' -Model mock/echo -JsonSchema '{\"type\":5}'", "LlmTaskInvalidJsonSchema", ErrorCategory.InvalidArgument)]
    [InlineData("Start-LlmTask 'x' -Model bogus/x -MockResponse 'canned'", "LlmTaskUnknownProvider", ErrorCategory.InvalidArgument)]
    [InlineData("Start-LlmTask -Messages @{ role = 'robot'; content = 'x' } -Model mock/echo", "LlmTaskInvalidMessage", ErrorCategory.InvalidArgument)]
    [InlineData("$env:LLMTASKS_DEFAULT_MODEL = $null; Start-LlmTask 'x'", "LlmTaskNoModel", ErrorCategory.InvalidArgument)]
    public void Bad_input_gets_its_own_error_and_stores_nothing(string script, string errorId, ErrorCategory category)
    {
        _ps.Run("Start-LlmTask 'kept' -Model mock/echo -Wait").Ok();
        var result = _ps.Run(script);
        var error = Assert.Single(result.Errors);
        Assert.Equal($"{errorId},LlmTasks.PowerShell.Commands.StartLlmTaskCommand", error.FullyQualifiedErrorId);
        Assert.Equal(category, error.CategoryInfo.Category);
        var left = _ps.Run("Get-LlmTask").Ok().Output;
        Assert.Equal("kept", Assert.Single(left).Properties["Output"].Value);
    }

    [Fact]
    public void One_bad_prompt_in_a_pipeline_does_not_stop_the_others()
    {
        var result = _ps.Run("'good', '', 'also good' | Start-LlmTask -Model mock/echo -Wait");
        Assert.Equal(["good", "also good"], result.Output.Select(o => o.Properties["Output"].Value));
        Assert.StartsWith("LlmTaskEmptyPrompt,", Assert.Single(result.Errors).FullyQualifiedErrorId);
    }

    [Fact]
    public void A_corrupt_store_is_a_terminating_InvalidData_error_and_the_file_is_untouched()
    {
        var path = Path.Combine(_ps.Folder, "corrupt.db");
        var bytes = Enumerable.Range(0, 8192).Select(i => (byte)(i * 31 % 253)).ToArray();
        File.WriteAllBytes(path, bytes);
        var result = _ps.Run("try { Get-LlmTask -StorePath $args[0]; 'not reached' } catch { $_.FullyQualifiedErrorId; $_.CategoryInfo.Category }", path);
        Assert.Equal(["LlmTaskStoreCorrupt,LlmTasks.PowerShell.Commands.GetLlmTaskCommand", "InvalidData"], result.Output.Select(o => o.ToString()));
        Assert.Equal(bytes, File.ReadAllBytes(path));
    }

    [Fact]
    public void A_store_from_a_newer_module_is_refused_and_its_rows_kept()
    {
        // Made by another process, so that this one opens it fresh (as the next session would).
        var path = Path.Combine(_ps.Folder, "newer.db");
        Assert.Equal(0, Pwsh.Command("Start-LlmTask 'old row' -Model mock/echo -Wait", path).ExitCode);
        using (var connection = new SqliteConnection($"Data Source={path};Pooling=False"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "INSERT INTO schema_version VALUES (1000, 'from the future', 0)";
            command.ExecuteNonQuery();
        }

        var result = _ps.Run("try { Start-LlmTask 'new' -Model mock/echo -StorePath $args[0]; 'not reached' } catch { $_.FullyQualifiedErrorId; $_.CategoryInfo.Category }", path);
        Assert.Equal(["LlmTaskStoreSchemaTooNew,LlmTasks.PowerShell.Commands.StartLlmTaskCommand", "InvalidData"], result.Output.Select(o => o.ToString()));
        using var check = new SqliteConnection($"Data Source={path};Mode=ReadOnly;Pooling=False");
        check.Open();
        using var count = check.CreateCommand();
        count.CommandText = "SELECT group_concat(output) FROM tasks";
        Assert.Equal("old row", count.ExecuteScalar());
    }

    [Fact]
    public void A_write_protected_store_lists_tasks_but_refuses_to_start_one()
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        var path = Path.Combine(_ps.Folder, "readonly.db");
        Assert.Equal(0, Pwsh.Command("Start-LlmTask 'listed' -Model mock/echo -Wait", path).ExitCode);
        File.SetUnixFileMode(path, UnixFileMode.UserRead);
        try
        {
            Assert.Equal("listed", _ps.Run("(Get-LlmTask -StorePath $args[0]).Output", path).Ok().Single<string>());
            var result = _ps.Run("Start-LlmTask 'no' -Model mock/echo -StorePath $args[0]", path);
            var error = Assert.Single(result.Errors);
            Assert.Equal("LlmTaskStoreReadOnly,LlmTasks.PowerShell.Commands.StartLlmTaskCommand", error.FullyQualifiedErrorId);
            Assert.Equal(ErrorCategory.PermissionDenied, error.CategoryInfo.Category);
        }
        finally
        {
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
    }

    [Fact]
    public void A_relative_StorePath_resolves_against_the_current_location()
    {
        _ps.Run("$null = $ExecutionContext.SessionState.Path.SetLocation($args[0]); Start-LlmTask 'here' -Model mock/echo -StorePath ./relative.db -Wait", _ps.Folder).Ok();
        Assert.True(File.Exists(Path.Combine(_ps.Folder, "relative.db")));
    }

    [Fact]
    public void A_10_MB_prompt_is_stored_run_and_read_back_whole()
    {
        var result = _ps.Run("""
            $prompt = 'abcdefghij' * 1MB
            $task = Start-LlmTask $prompt -Model mock/echo -Wait
            $task.State
            $task.Output.Length
            ($task | Receive-LlmTask).Length
            (Get-LlmTask -Id $task.Id).Prompt -eq $prompt
            """).Ok();
        Assert.Equal(["Completed", "10485760", "10485760", "True"], result.Output.Select(o => o.ToString()));
        // The request is kept once per task, not again for each attempt.
        var inspector = new StoreInspector(_ps.StorePath);
        Assert.Equal(0, inspector.Scalar<long>("SELECT count(*) FROM attempts WHERE request_json IS NOT NULL"));
    }
}

using System.Management.Automation.Language;

namespace LlmTasks.PowerShell.Tests;

public sealed class ModuleTests : IDisposable
{
    private readonly PowerShellSession _ps = new();

    public void Dispose() => _ps.Dispose();

    [Fact]
    public void The_engine_and_its_dependencies_load_in_their_own_context_not_PowerShells()
    {
        var result = _ps.Run("""
            $task = Start-LlmTask 'x' -Model mock/echo -Wait
            $engine = [System.Runtime.Loader.AssemblyLoadContext]::GetLoadContext($task.GetType().Assembly)
            $engine.Name
            ($engine.Assemblies | ForEach-Object { $_.GetName().Name }) -join ','
            @([System.Runtime.Loader.AssemblyLoadContext]::Default.Assemblies | Where-Object { $_.GetName().Name -in 'LlmTasks.Engine', 'Microsoft.Extensions.AI' }).Count
            """).Ok();
        Assert.Equal("LlmTasks.Engine", result.Output[0].ToString());
        var isolated = result.Output[1].ToString().Split(',');
        Assert.Contains("Microsoft.Data.Sqlite", isolated);
        Assert.Contains("Microsoft.Extensions.AI.Abstractions", isolated);
        Assert.Equal(0, (int)result.Output[2].BaseObject);
    }

    [Fact]
    public void A_library_the_running_dotnet_ships_no_older_comes_from_the_framework_and_the_rest_from_the_modules_folder()
    {
        // System.Text.Json: deps/ has the NuGet copy the engine was built with (IL only); .NET 10's own is the
        // same version, precompiled. Npgsql is nowhere in the framework: it must stay the module's, isolated.
        var result = _ps.Run("""
            $task = Start-LlmTask 'x' -Model mock/echo -Wait
            $engine = [System.Runtime.Loader.AssemblyLoadContext]::GetLoadContext($task.GetType().Assembly)
            $json = $engine.LoadFromAssemblyName([System.Reflection.AssemblyName]'System.Text.Json')
            $npgsql = $engine.LoadFromAssemblyName([System.Reflection.AssemblyName]'Npgsql')
            [System.IO.Path]::GetDirectoryName($json.Location)
            [System.Runtime.Loader.AssemblyLoadContext]::GetLoadContext($json).Name
            [System.IO.Path]::GetDirectoryName($npgsql.Location)
            [System.Runtime.Loader.AssemblyLoadContext]::GetLoadContext($npgsql).Name
            """).Ok();
        var framework = System.Runtime.InteropServices.RuntimeEnvironment.GetRuntimeDirectory().TrimEnd('/', '\\');
        Assert.Equal(framework, result.Output[0].ToString());
        Assert.Equal("Default", result.Output[1].ToString());
        Assert.EndsWith("deps", result.Output[2].ToString());
        Assert.Equal("LlmTasks.Engine", result.Output[3].ToString());
    }

    [Fact]
    public void Model_completion_offers_providers_and_models_seen_in_the_store()
    {
        _ps.Run("Start-LlmTask 'x' -Model mock/delay:7 -Wait").Ok();
        string[] Complete(string line) => _ps.Run("(TabExpansion2 -inputScript $args[0] -cursorColumn $args[0].Length).CompletionMatches.CompletionText", line)
            .Ok().Output.Select(o => o.ToString()).ToArray();

        var mock = Complete("Start-LlmTask -Model mock/");
        Assert.Contains("mock/echo", mock);
        Assert.Contains("mock/delay:7", mock);
        Assert.DoesNotContain("openai/gpt-4o-mini", mock);
        Assert.Contains("anthropic/claude-sonnet-4-5", Complete("Start-LlmTask -Model anth"));
    }

    [Fact]
    public void Name_completion_offers_task_names_from_the_store()
    {
        _ps.Run("Start-LlmTask 'x' -Model mock/echo -Name 'nightly report' -Wait; Start-LlmTask 'y' -Model mock/echo -Name other -Wait").Ok();
        var names = _ps.Run("(TabExpansion2 -inputScript $args[0] -cursorColumn $args[0].Length).CompletionMatches.CompletionText", "Get-LlmTask -Name nig").Ok();
        Assert.Equal("'nightly report'", Assert.Single(names.Output).ToString());
    }

    [Fact]
    public void Completion_reads_another_store_without_taking_over_its_left_over_work()
    {
        // A store with work left by a process that exited: Pending, unleased, ready for any manager to claim.
        var other = Path.Combine(_ps.Folder, "left-over.db");
        var left = Pwsh.Command("$null = Start-LlmTask 'later' -Model mock/delay:60000 -Name 'left over'", other);
        Assert.True(left.ExitCode == 0, left.Errors);
        string[] Complete(string line) => _ps.Run("(TabExpansion2 -inputScript $args[0] -cursorColumn $args[0].Length).CompletionMatches.CompletionText", line)
            .Ok().Output.Select(o => o.ToString()).ToArray();

        Assert.Equal(["'left over'"], Complete($"Get-LlmTask -StorePath '{other}' -Name lef"));
        Assert.Contains("mock/delay:60000", Complete($"Start-LlmTask -StorePath '{other}' -Model mock/d"));

        // A task manager opened on that store would have claimed the task on its first pass, at once.
        Thread.Sleep(TimeSpan.FromSeconds(2));
        var db = new StoreInspector(other);
        Assert.Equal("Pending", db.Scalar<string>("SELECT state FROM tasks"));
        Assert.Equal(1L, db.Scalar<long>("SELECT count(*) FROM tasks WHERE lease_owner IS NULL"));
        Assert.Equal(0L, db.Scalar<long>("SELECT count(*) FROM attempts WHERE outcome <> 'Interrupted'")); // only the exited process's own
    }

    [Fact]
    public void The_manifest_exports_the_cmdlets_and_loads_the_views()
    {
        var commands = _ps.Run("(Get-Module LlmTasks).ExportedCmdlets.Keys").Ok();
        Assert.Equal(["Approve-LlmTask", "Get-LlmBudget", "Get-LlmModel", "Get-LlmRateLimit", "Get-LlmTask", "Get-LlmTaskAttempt", "Get-LlmTaskBatch", "Get-LlmTaskBoard", "Invoke-LlmTaskWorker", "Invoke-LlmVerification", "Receive-LlmTask", "Remove-LlmBudget", "Remove-LlmRateLimit", "Remove-LlmTask", "Repair-LlmTaskStore", "Restart-LlmTask", "Set-LlmBudget", "Set-LlmRateLimit", "Start-LlmTask", "Start-LlmTaskBoard", "Stop-LlmTask", "Stop-LlmTaskBoard", "Wait-LlmTask"],
            commands.Output.Select(o => o.ToString()).Order());
        var views = _ps.Run("$t = Start-LlmTask 'x' -Model mock/echo -Wait; $t.PSStandardMembers.DefaultDisplayPropertySet.ReferencedPropertyNames -join ','").Ok();
        Assert.Equal("Id,Name,State,Model,Duration,Output", views.Output.Single().ToString());
    }

    [Fact]
    public void Help_topic_and_pester_files_parse_without_errors()
    {
        var about = Path.Combine(Repo.Root, "module", "en-US", "about_LlmTasks.help.txt");
        Assert.Contains("about_LlmTasks", File.ReadAllText(about));
        var scripts = Directory.GetFiles(Path.Combine(Repo.Root, "tests", "Pester"), "*.ps1")
            .Concat(Directory.GetFiles(Path.Combine(Repo.Root, "examples"), "*.ps1"))
            .Append(Path.Combine(Repo.Root, "build.ps1"))
            .ToList();
        Assert.Contains(scripts, s => s.EndsWith(".Tests.ps1", StringComparison.Ordinal));
        foreach (var script in scripts)
        {
            Parser.ParseFile(script, out _, out var errors);
            Assert.True(errors.Length == 0, $"{script}: {string.Join("; ", errors.Select(e => $"{e.Extent.StartLineNumber}: {e.Message}"))}");
        }
    }
}

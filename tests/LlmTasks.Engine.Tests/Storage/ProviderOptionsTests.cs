using System.Text.Json;
using LlmTasks.Storage;
using LlmTasks.Tests.Doubles;

namespace LlmTasks.Tests.Storage;

/// <summary>
/// Provider options are typed from the cmdlet to the provider (MaxTurns an int, AllowedTools a list), and stored in the
/// request JSON in the flat text shape earlier versions wrote, so a store is read the same way by both.
/// </summary>
public sealed class ProviderOptionsTests : IDisposable
{
    private readonly TempStore _temp = new();

    public void Dispose() => _temp.Dispose();

    private static LlmTaskRequest Request(ProviderOptions options) => new()
    {
        Model = "max/sonnet",
        Messages = [new LlmMessage(LlmRole.User, "hi")],
        ProviderOptions = options,
    };

    [Fact]
    public void Typed_options_are_stored_as_the_text_values_earlier_versions_read()
    {
        var json = StoreJson.Serialize(Request(new ProviderOptions { MaxTurns = 5, AllowedTools = ["Read", "Bash(git log:*)"], McpConfigPath = "/x/mcp.json", MockResponses = ["a", "b"] }));
        var stored = JsonDocument.Parse(json).RootElement.GetProperty("providerOptions");
        Assert.Equal("5", stored.GetProperty("maxTurns").GetString());
        Assert.Equal("Read,Bash(git log:*)", stored.GetProperty("allowedTools").GetString());
        Assert.Equal("/x/mcp.json", stored.GetProperty("mcpConfigPath").GetString());
        Assert.Equal("[\"a\",\"b\"]", stored.GetProperty("mockResponses").GetString());
        Assert.False(stored.TryGetProperty("workingDirectory", out _));
    }

    [Fact]
    public void A_request_stored_by_an_earlier_version_reads_back_typed()
    {
        var old = """{"model":"max/sonnet","messages":[{"role":"user","content":"hi"}],"providerOptions":{"maxTurns":"7","allowedTools":"mcp__fs__read_file, Read","workingDirectory":"/tmp/w","mockResponses":"[\"x\"]"}}""";
        var options = StoreJson.Deserialize(old).ProviderOptions!;
        Assert.Equal(7, options.MaxTurns);
        Assert.Equal(["mcp__fs__read_file", "Read"], options.AllowedTools);
        Assert.Equal("/tmp/w", options.WorkingDirectory);
        Assert.Equal(["x"], options.MockResponses);
    }

    [Fact]
    public void A_task_keeps_its_typed_options_through_the_store()
    {
        using var store = TaskStore.Open(_temp.Path);
        var task = store.Insert(Request(new ProviderOptions { MaxTurns = 3, WorkingDirectory = "/w", McpConfigJson = """{"mcpServers":{}}""" }), "max", null, null);
        var read = store.Get(task.Id)!.Request.ProviderOptions!;
        Assert.Equal((3, "/w", """{"mcpServers":{}}""", (string?)null), (read.MaxTurns!.Value, read.WorkingDirectory!, read.McpConfigJson!, read.McpConfigPath));
    }

    [Fact]
    public void Merging_replaces_what_is_given_and_an_mcp_config_replaces_the_other_form()
    {
        var had = new ProviderOptions { McpConfigPath = "/a.json", MaxTurns = 2, AllowedTools = ["Read"] };
        var merged = had.With(new ProviderOptions { McpConfigJson = "{}", MaxTurns = 9 });
        Assert.Equal(((string?)null, "{}", 9, "Read"), (merged.McpConfigPath, merged.McpConfigJson, merged.MaxTurns!.Value, merged.AllowedTools!.Single()));
    }
}

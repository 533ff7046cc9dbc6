using System.Text.Json;

namespace LlmTasks.Providers.ClaudeCode;

/// <summary>
/// The task's MCP configuration as a private temp file (0600 on Unix) for <c>--mcp-config</c>: written
/// just before the CLI starts, deleted when it has exited. A path option is read when the task runs.
/// </summary>
internal sealed class ClaudeMcpConfig : IDisposable
{
    private ClaudeMcpConfig(string path) => Path = path;

    public string Path { get; }

    /// <summary>Writes the task's MCP configuration to <paramref name="path"/> (the run's, see CliRunRecord); null when it has none.</summary>
    public static ClaudeMcpConfig? Create(LlmTaskRequest request, string path)
    {
        var options = request.ProviderOptions;
        if (options is null)
        {
            return null;
        }

        string json;
        string source;
        if (options.McpConfigJson is { } inline && !string.IsNullOrWhiteSpace(inline))
        {
            json = inline;
            source = "the inline -McpConfig";
        }
        else if (options.McpConfigPath is { } file && !string.IsNullOrWhiteSpace(file))
        {
            source = $"the MCP config file '{file}'";
            try
            {
                json = File.ReadAllText(file);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new ClaudeCodeException(ClaudeErrorKinds.InvalidOption, LlmErrorCategory.ReadError, $"Cannot read {source}: {e.Message}", inner: e);
            }
        }
        else
        {
            return null;
        }

        try
        {
            using var doc = JsonDocument.Parse(json);
            if (doc.RootElement.ValueKind != JsonValueKind.Object || !doc.RootElement.TryGetProperty("mcpServers", out _))
            {
                throw new ClaudeCodeException(ClaudeErrorKinds.InvalidOption, LlmErrorCategory.InvalidData,
                    $"{Capital(source)} is not an MCP configuration: write it as {{ \"mcpServers\": {{ \"name\": {{ \"command\": …, \"args\": [ … ] }} }} }}.");
            }
        }
        catch (JsonException e)
        {
            throw new ClaudeCodeException(ClaudeErrorKinds.InvalidOption, LlmErrorCategory.InvalidData, $"{Capital(source)} is not valid JSON: {e.Message}", inner: e);
        }

        var create = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            create.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using (var stream = new FileStream(path, create))
        using (var writer = new StreamWriter(stream))
        {
            writer.Write(json);
        }

        return new ClaudeMcpConfig(path);
    }

    public void Dispose()
    {
        try
        {
            File.Delete(Path);
        }
        catch (IOException)
        {
        }
    }

    private static string Capital(string text) => char.ToUpperInvariant(text[0]) + text[1..];
}

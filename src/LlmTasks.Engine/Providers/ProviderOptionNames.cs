namespace LlmTasks.Providers;

/// <summary>The names <see cref="LlmTasks.ProviderOptions"/> are stored under in a request's JSON (text values).</summary>
public static class ProviderOptionNames
{
    /// <summary>max/*: the full path of an MCP config file, read when the task runs.</summary>
    public const string McpConfigPath = "mcpConfigPath";

    /// <summary>max/*: an MCP config given inline, as JSON text.</summary>
    public const string McpConfigJson = "mcpConfigJson";

    /// <summary>max/*: comma-separated tool names the CLI may use without asking.</summary>
    public const string AllowedTools = "allowedTools";

    /// <summary>max/*: the CLI's working directory (full path).</summary>
    public const string WorkingDirectory = "workingDirectory";

    /// <summary>max/*: the most agent turns.</summary>
    public const string MaxTurns = "maxTurns";
}

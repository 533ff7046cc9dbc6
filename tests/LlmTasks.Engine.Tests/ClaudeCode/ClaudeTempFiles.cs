namespace LlmTasks.Tests.ClaudeCode;

/// <summary>
/// Test classes whose max/* runs write MCP config files into the shared temp folder (llmtasks-mcp-&lt;task id&gt;-…): they run one
/// after another, so one class's "the config file of task 1 is gone" never sees another class's task 1 mid-run.
/// </summary>
[CollectionDefinition(nameof(ClaudeTempFiles))]
public sealed class ClaudeTempFiles;

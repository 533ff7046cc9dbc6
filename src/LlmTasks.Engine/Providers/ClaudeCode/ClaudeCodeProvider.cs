using Microsoft.Extensions.AI;

namespace LlmTasks.Providers.ClaudeCode;

/// <summary>
/// <c>max/</c>: model calls through the local Claude Code CLI, on the user's own subscription login.
/// <c>max/opus</c>, <c>max/sonnet</c>, <c>max/haiku</c> and full <c>max/claude-*</c> names.
/// </summary>
public sealed class ClaudeCodeProvider : IChatClientProvider, ILeftoverCleanup
{
    private readonly ClaudeCodeOptions _options;

    public ClaudeCodeProvider(ClaudeCodeOptions? options = null)
    {
        _options = options ?? new ClaudeCodeOptions();
    }

    public string Name => "max";

    public int? DefaultConcurrency => _options.DefaultConcurrency;

    /// <summary>Answers stream (server-sent events; for max/*, the CLI's stream-json).</summary>
    public bool StreamsAnswers => true;

    public void Validate(ModelId model) => _ = ClaudeModels.ToCli(model);

    public IChatClient CreateClient(ModelId model, ProviderCallContext context) => new ClaudeCodeChatClient(model, context, _options);

    /// <summary>Kills the CLIs of processes that are gone and removes their MCP config files and work folders (<see cref="CliLeftovers"/>).</summary>
    public void CleanUpAfterGoneProcesses() => CliLeftovers.Sweep();
}

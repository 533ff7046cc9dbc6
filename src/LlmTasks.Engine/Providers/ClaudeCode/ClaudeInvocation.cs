using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace LlmTasks.Providers.ClaudeCode;

/// <summary>
/// One CLI run worked out from a task's request: the flags, and what goes to stdin. A single user
/// message goes as plain text (<c>--output-format json</c>); a conversation goes as stream-json
/// lines, each earlier user turn with <c>"shouldQuery":false</c>, so the CLI sends every turn to the
/// model in one request (verified against the real CLI: no turn is dropped or reordered).
/// </summary>
internal sealed record ClaudeInvocation
{
    public required string Model { get; init; }
    public string? SystemPrompt { get; init; }
    /// <summary>The non-system messages, in order; the last is a user message.</summary>
    public required IReadOnlyList<LlmMessage> Turns { get; init; }
    public int? MaxTurns { get; init; }
    public string? JsonSchema { get; init; }
    public string? McpConfigFile { get; init; }
    public IReadOnlyList<string> AllowedTools { get; init; } = [];

    /// <summary>The answer streams: stream-json output with partial messages (text deltas as the model writes them).</summary>
    public bool Streamed { get; init; }

    public bool IsConversation => Turns.Count > 1;

    public static ClaudeInvocation From(LlmTaskRequest request, ModelId model, string? mcpConfigFile, bool streamed = false)
    {
        var system = request.Messages.Where(m => m.Role == LlmRole.System).Select(m => m.Content).ToList();
        var turns = request.Messages.Where(m => m.Role != LlmRole.System).ToList();
        if (turns.Count == 0 || turns[^1].Role != LlmRole.User)
        {
            throw new ClaudeCodeException(ClaudeErrorKinds.InvalidOption, LlmErrorCategory.InvalidArgument,
                "The Claude Code CLI answers a user message: the conversation must end with a message of role 'user'.");
        }

        var options = request.ProviderOptions;
        var maxTurns = options?.MaxTurns is { } n
            ? n > 0 ? n : throw new ClaudeCodeException(ClaudeErrorKinds.InvalidOption, LlmErrorCategory.InvalidArgument, $"MaxTurns {n} is not a positive whole number.")
            : (int?)null;

        return new ClaudeInvocation
        {
            Model = ClaudeModels.ToCli(model),
            SystemPrompt = system.Count == 0 ? null : string.Join("\n\n", system),
            Turns = turns,
            MaxTurns = maxTurns,
            JsonSchema = request.JsonSchema,
            McpConfigFile = mcpConfigFile,
            Streamed = streamed,
            AllowedTools = options?.AllowedTools?.Select(t => t.Trim()).Where(t => t.Length > 0).ToArray() ?? [], // rules such as 'Bash(git log:*)' hold spaces
        };
    }

    /// <summary>
    /// The CLI's arguments. A streamed call (and every conversation) reads stream-json output; a streamed one adds
    /// <c>--include-partial-messages</c>, so the text arrives as the model writes it. Built-in tools are off (<c>--tools ""</c>) unless -AllowedTools names some
    /// (Read, Bash …): a model call should not edit files or run commands unless asked to. MCP tools
    /// come only from the task's own config (<c>--strict-mcp-config</c>).
    /// </summary>
    public IReadOnlyList<string> Arguments()
    {
        var args = new List<string> { "-p" };
        if (IsConversation)
        {
            args.AddRange(["--input-format", "stream-json", "--output-format", "stream-json", "--verbose"]);
        }
        else if (Streamed)
        {
            args.AddRange(["--output-format", "stream-json", "--verbose"]);
        }
        else
        {
            args.AddRange(["--output-format", "json"]);
        }

        if (Streamed)
        {
            args.Add("--include-partial-messages");
        }

        args.AddRange(["--model", Model, "--no-session-persistence"]);
        if (SystemPrompt is not null)
        {
            args.AddRange(["--system-prompt", SystemPrompt]);
        }

        if (MaxTurns is { } turns)
        {
            args.AddRange(["--max-turns", turns.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        }

        if (JsonSchema is not null)
        {
            args.AddRange(["--json-schema", JsonSchema]);
        }

        var builtIn = AllowedTools.Where(t => !t.StartsWith("mcp__", StringComparison.Ordinal)).Select(t => t.Split('(')[0]).Distinct().ToList();
        args.AddRange(["--tools", string.Join(',', builtIn)]);
        if (McpConfigFile is not null)
        {
            args.AddRange(["--mcp-config", McpConfigFile, "--strict-mcp-config"]);
        }
        else
        {
            args.Add("--strict-mcp-config"); // no MCP servers from the user's own settings either
        }

        if (AllowedTools.Count > 0)
        {
            args.AddRange(["--allowedTools", string.Join(',', AllowedTools)]);
        }

        return args;
    }

    /// <summary>Plain-text stdin for a single message.</summary>
    public string PromptText => Turns[^1].Content;

    /// <summary>
    /// The stream-json stdin lines. <c>WaitAfter</c>: wait for the CLI's next result line before
    /// writing on (the CLI acknowledges each non-querying user turn with one).
    /// </summary>
    public IReadOnlyList<(string Line, bool WaitAfter)> StreamLines()
    {
        var lines = new List<(string, bool)>();
        for (var i = 0; i < Turns.Count; i++)
        {
            var turn = Turns[i];
            var last = i == Turns.Count - 1;
            JsonObject line;
            if (turn.Role == LlmRole.Assistant)
            {
                line = new JsonObject
                {
                    ["type"] = "assistant",
                    ["message"] = new JsonObject
                    {
                        ["role"] = "assistant",
                        ["content"] = new JsonArray(new JsonObject { ["type"] = "text", ["text"] = turn.Content }),
                    },
                };
                lines.Add((line.ToJsonString(), false));
                continue;
            }

            line = new JsonObject
            {
                ["type"] = "user",
                ["message"] = new JsonObject { ["role"] = "user", ["content"] = turn.Content },
            };
            if (!last)
            {
                line["shouldQuery"] = false;
            }

            lines.Add((line.ToJsonString(), true));
        }

        return lines;
    }

    public override string ToString()
    {
        var text = new StringBuilder("claude");
        foreach (var a in Arguments())
        {
            text.Append(' ').Append(a.Length == 0 || a.Contains(' ') ? JsonSerializer.Serialize(a) : a);
        }

        return text.ToString();
    }
}

using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using LlmTasks.Providers;

namespace LlmTasks;

/// <summary>
/// A request's provider-specific options, typed: the Claude Code CLI's (max/*) MCP configuration, allowed tools,
/// working directory and turn limit, and mock/sequence's answers. Stored in the request's JSON as a flat object of
/// text values under the names of <see cref="ProviderOptionNames"/> (the shape earlier versions wrote and read), so
/// stores stay readable both ways; in memory every value has its own type, from the cmdlet to the provider.
/// </summary>
[JsonConverter(typeof(ProviderOptionsConverter))]
public sealed record ProviderOptions
{
    /// <summary>max/*: the full path of an MCP config file, read when the task runs.</summary>
    public string? McpConfigPath { get; init; }

    /// <summary>max/*: an MCP config given inline, as JSON text.</summary>
    public string? McpConfigJson { get; init; }

    /// <summary>max/*: tool names the CLI may use without asking (rules such as 'Bash(git log:*)' included).</summary>
    public IReadOnlyList<string>? AllowedTools { get; init; }

    /// <summary>max/*: the CLI's working directory (full path).</summary>
    public string? WorkingDirectory { get; init; }

    /// <summary>max/*: the most agent turns.</summary>
    public int? MaxTurns { get; init; }

    /// <summary>mock/sequence: one answer per attempt, the last repeats.</summary>
    public IReadOnlyList<string>? MockResponses { get; init; }

    public bool IsEmpty => McpConfigPath is null && McpConfigJson is null && AllowedTools is null && WorkingDirectory is null && MaxTurns is null && MockResponses is null;

    /// <summary>These options with every value <paramref name="over"/> sets replacing this one's (an MCP config, path or inline, replaces the other form).</summary>
    public ProviderOptions With(ProviderOptions? over) => over is null ? this : new ProviderOptions
    {
        McpConfigPath = over.McpConfigPath ?? (over.McpConfigJson is null ? McpConfigPath : null),
        McpConfigJson = over.McpConfigJson ?? (over.McpConfigPath is null ? McpConfigJson : null),
        AllowedTools = over.AllowedTools ?? AllowedTools,
        WorkingDirectory = over.WorkingDirectory ?? WorkingDirectory,
        MaxTurns = over.MaxTurns ?? MaxTurns,
        MockResponses = over.MockResponses ?? MockResponses,
    };

    /// <summary>The stored form: every set value as text under its name.</summary>
    internal Dictionary<string, string> ToStored()
    {
        var stored = new Dictionary<string, string>(StringComparer.Ordinal);
        void Put(string name, string? value)
        {
            if (value is not null)
            {
                stored[name] = value;
            }
        }

        Put(ProviderOptionNames.McpConfigPath, McpConfigPath);
        Put(ProviderOptionNames.McpConfigJson, McpConfigJson);
        Put(ProviderOptionNames.AllowedTools, AllowedTools is null ? null : string.Join(',', AllowedTools));
        Put(ProviderOptionNames.WorkingDirectory, WorkingDirectory);
        Put(ProviderOptionNames.MaxTurns, MaxTurns?.ToString(CultureInfo.InvariantCulture));
        Put(Providers.Mock.MockProvider.SequenceOption, MockResponses is null ? null : JsonSerializer.Serialize(MockResponses, ProviderOptionsJson.Default.IReadOnlyListString));
        return stored;
    }

    /// <summary>
    /// Reads the stored form (text values; arrays and numbers are read too). A value that does not read as its type
    /// (a MaxTurns of 'many') is an <see cref="ErrorIds.InvalidMaxTurns"/> or <see cref="ErrorIds.InvalidOption"/> error.
    /// </summary>
    internal static ProviderOptions FromStored(IReadOnlyDictionary<string, JsonElement> stored)
    {
        string? Text(string name) => stored.TryGetValue(name, out var v) ? v.ValueKind switch
        {
            JsonValueKind.String => v.GetString(),
            JsonValueKind.Null or JsonValueKind.Undefined => null,
            _ => v.GetRawText(),
        } : null;

        IReadOnlyList<string>? List(string name, Func<string, IReadOnlyList<string>> split)
        {
            if (!stored.TryGetValue(name, out var v) || v.ValueKind is JsonValueKind.Null or JsonValueKind.Undefined)
            {
                return null;
            }

            return v.ValueKind == JsonValueKind.Array ? v.EnumerateArray().Select(e => e.GetString() ?? string.Empty).ToArray() : split(v.GetString() ?? string.Empty);
        }

        int? turns = null;
        if (Text(ProviderOptionNames.MaxTurns) is { } maxTurns)
        {
            turns = int.TryParse(maxTurns, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n)
                ? n
                : throw new LlmTasksException(ErrorIds.InvalidMaxTurns, LlmErrorCategory.InvalidArgument, $"-MaxTurns must be a whole number from 1 to 1000; got '{maxTurns}'.") { Target = maxTurns };
        }

        return new ProviderOptions
        {
            McpConfigPath = Text(ProviderOptionNames.McpConfigPath),
            McpConfigJson = Text(ProviderOptionNames.McpConfigJson),
            AllowedTools = List(ProviderOptionNames.AllowedTools, text => text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)),
            WorkingDirectory = Text(ProviderOptionNames.WorkingDirectory),
            MaxTurns = turns,
            MockResponses = List(Providers.Mock.MockProvider.SequenceOption, text =>
            {
                try
                {
                    return JsonSerializer.Deserialize(text, ProviderOptionsJson.Default.IReadOnlyListString) ?? [];
                }
                catch (JsonException e)
                {
                    throw new LlmTasksException(ErrorIds.InvalidOption, LlmErrorCategory.InvalidArgument, $"The stored mock/sequence answers are not a JSON list: {e.Message}") { Target = text };
                }
            }),
        };
    }
}

/// <summary>Reads and writes <see cref="ProviderOptions"/> in their stored form (a flat object of text values).</summary>
internal sealed class ProviderOptionsConverter : JsonConverter<ProviderOptions>
{
    public override ProviderOptions? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType == JsonTokenType.Null)
        {
            return null;
        }

        using var document = JsonDocument.ParseValue(ref reader);
        if (document.RootElement.ValueKind != JsonValueKind.Object)
        {
            throw new JsonException("Provider options must be a JSON object.");
        }

        var values = document.RootElement.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.Clone(), StringComparer.Ordinal);
        return ProviderOptions.FromStored(values);
    }

    public override void Write(Utf8JsonWriter writer, ProviderOptions value, JsonSerializerOptions options)
    {
        writer.WriteStartObject();
        foreach (var (name, text) in value.ToStored())
        {
            writer.WriteString(name, text);
        }

        writer.WriteEndObject();
    }
}

[JsonSerializable(typeof(IReadOnlyList<string>))]
internal sealed partial class ProviderOptionsJson : JsonSerializerContext;

using System.Text;
using Microsoft.Extensions.AI;

namespace LlmTasks.Execution.Pipeline;

/// <summary>
/// A streamed answer put together as it arrives: the text in one builder (not an object per token), usage, finish
/// reason and the provider's properties; the answer as a <see cref="ChatResponse"/> at the end.
/// </summary>
internal sealed class StreamedAnswer
{
    private readonly StringBuilder _text = new();
    private readonly List<AIContent> _other = [];
    private UsageDetails? _usage;
    private ChatFinishReason? _finish;
    private string? _model;
    private string? _id;
    private AdditionalPropertiesDictionary? _properties;

    public int Length => _text.Length;

    public string Text => _text.ToString();

    /// <summary>Adds an update; returns its text (null when it has none).</summary>
    public string? Add(ChatResponseUpdate update)
    {
        string? piece = null;
        foreach (var content in update.Contents)
        {
            switch (content)
            {
                case TextContent { Text: { Length: > 0 } text }:
                    _text.Append(text);
                    piece = piece is null ? text : piece + text;
                    break;
                case TextContent:
                    break;
                case UsageContent usage:
                    (_usage ??= new UsageDetails()).Add(usage.Details);
                    break;
                default:
                    _other.Add(content);
                    break;
            }
        }

        _finish = update.FinishReason ?? _finish;
        _model = update.ModelId ?? _model;
        _id = update.ResponseId ?? _id;
        if (update.AdditionalProperties is { Count: > 0 } properties)
        {
            _properties ??= [];
            foreach (var (key, value) in properties)
            {
                _properties[key] = value;
            }
        }

        return piece;
    }

    /// <summary>
    /// Whether the answer came to an end the provider announced: a finish reason (OpenAI's finish_reason, Anthropic's
    /// stop_reason). Usage alone does not say so (Anthropic sends it with the first event).
    /// </summary>
    public bool Ended => _finish is not null;

    public ChatResponse ToResponse()
    {
        var text = _properties?.TryGetValue(Providers.ResponseProperties.FinalText, out var final) == true && final is string whole ? whole : _text.ToString();
        _properties?.Remove(Providers.ResponseProperties.FinalText);
        var contents = new List<AIContent>(_other.Count + 1) { new TextContent(text) };
        contents.AddRange(_other);
        return new ChatResponse(new ChatMessage(ChatRole.Assistant, contents))
        {
            FinishReason = _finish,
            ModelId = _model,
            ResponseId = _id,
            Usage = _usage,
            AdditionalProperties = _properties,
        };
    }
}

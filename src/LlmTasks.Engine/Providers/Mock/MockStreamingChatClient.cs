using System.Runtime.CompilerServices;
using System.Text.RegularExpressions;
using Microsoft.Extensions.AI;

namespace LlmTasks.Providers.Mock;

/// <summary>
/// mock/stream:N: the echo (or -MockResponse's text), streamed a word at a time with N ms before each word, then a
/// finish reason and usage as a real provider's stream ends. Asked for a whole answer (streaming off), it waits as long
/// as the stream would have taken and answers whole.
/// </summary>
internal sealed partial class MockStreamingChatClient(MockBehaviour behaviour) : IChatClient
{
    private readonly TimeSpan _every = behaviour.PieceDelay ?? TimeSpan.Zero;

    public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var list = messages as IReadOnlyCollection<ChatMessage> ?? messages.ToList();
        var text = Answer(list);
        var pieces = Pieces(text).Count;
        if (_every > TimeSpan.Zero && pieces > 0)
        {
            await Task.Delay(_every * pieces, cancellationToken).ConfigureAwait(false);
        }

        return new ChatResponse(new ChatMessage(ChatRole.Assistant, text))
        {
            ModelId = options?.ModelId,
            FinishReason = ChatFinishReason.Stop,
            Usage = Usage(list, text),
        };
    }

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var list = messages as IReadOnlyCollection<ChatMessage> ?? messages.ToList();
        var text = Answer(list);
        foreach (var piece in Pieces(text))
        {
            if (_every > TimeSpan.Zero)
            {
                await Task.Delay(_every, cancellationToken).ConfigureAwait(false);
            }

            yield return new ChatResponseUpdate(ChatRole.Assistant, piece) { ModelId = options?.ModelId };
        }

        yield return new ChatResponseUpdate
        {
            Role = ChatRole.Assistant,
            ModelId = options?.ModelId,
            FinishReason = ChatFinishReason.Stop,
            Contents = [new UsageContent(Usage(list, text))],
        };
    }

    private string Answer(IReadOnlyCollection<ChatMessage> messages) =>
        behaviour.FixedResponse ?? messages.LastOrDefault(m => m.Role == ChatRole.User)?.Text ?? string.Empty;

    /// <summary>Each word with the spaces after it (leading spaces go with the first).</summary>
    private static List<string> Pieces(string text) => [.. Words().Matches(text).Select(m => m.Value)];

    private static UsageDetails Usage(IReadOnlyCollection<ChatMessage> messages, string text)
    {
        var usage = new UsageDetails
        {
            InputTokenCount = Math.Max(1, (messages.Sum(m => m.Text.Length) + 3) / 4),
            OutputTokenCount = Math.Max(1, (text.Length + 3) / 4),
        };
        usage.TotalTokenCount = usage.InputTokenCount + usage.OutputTokenCount;
        return usage;
    }

    public object? GetService(Type serviceType, object? serviceKey = null) =>
        serviceKey is null && serviceType.IsInstanceOfType(this) ? this : null;

    public void Dispose()
    {
    }

    [GeneratedRegex(@"^\s*\S+\s*|\S+\s*", RegexOptions.CultureInvariant)]
    private static partial Regex Words();
}

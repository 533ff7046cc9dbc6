using System.Collections.Concurrent;
using LlmTasks.Providers;
using Microsoft.Extensions.AI;

namespace LlmTasks.Tests.Doubles;

/// <summary>
/// A test double provider ("rec/…") that keeps every conversation it was sent, in full, and answers
/// call n with <see cref="Answers"/>[n] (the last one repeats).
/// </summary>
public sealed class RecordingProvider(params string[] answers) : IChatClientProvider
{
    public string Name => "rec";
    public int? DefaultConcurrency => null;
    public string[] Answers { get; set; } = answers;
    public ConcurrentQueue<IReadOnlyList<(ChatRole Role, string Text)>> Calls { get; } = new();
    public ConcurrentQueue<ProviderOptions?> Options { get; } = new();

    public void Validate(ModelId model)
    {
    }

    public IChatClient CreateClient(ModelId model, ProviderCallContext context)
    {
        Options.Enqueue(context.Request.ProviderOptions);
        return new Client(this);
    }

    private sealed class Client(RecordingProvider owner) : IChatClient
    {
        public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
        {
            var n = owner.Calls.Count;
            owner.Calls.Enqueue(messages.Select(m => (m.Role, m.Text)).ToList());
            var text = owner.Answers[Math.Min(n, owner.Answers.Length - 1)];
            return Task.FromResult(new ChatResponse(new ChatMessage(ChatRole.Assistant, text)) { Usage = new UsageDetails { InputTokenCount = 2, OutputTokenCount = 3 } });
        }

        public IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
            throw new NotSupportedException();

        public object? GetService(Type serviceType, object? serviceKey = null) => null;

        public void Dispose()
        {
        }
    }
}

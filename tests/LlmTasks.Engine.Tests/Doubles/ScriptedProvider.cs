using System.Collections.Concurrent;
using LlmTasks.Providers;
using Microsoft.Extensions.AI;

namespace LlmTasks.Tests.Doubles;

/// <summary>
/// A test double provider ("test/…"): each call runs <see cref="Behaviour"/>, and the provider
/// records how many calls ran at once and which task prompts it saw.
/// </summary>
public sealed class ScriptedProvider(string name = "test", int? concurrency = null) : IChatClientProvider
{
    private int _inFlight;
    private int _maxInFlight;

    public string Name => name;
    public int? DefaultConcurrency => concurrency;
    public Func<string, CancellationToken, Task<string>> Behaviour { get; set; } = (prompt, _) => Task.FromResult(prompt);
    public ConcurrentBag<string> Prompts { get; } = [];
    public int MaxInFlight => Volatile.Read(ref _maxInFlight);
    public int Calls => Prompts.Count;

    public void Validate(ModelId model)
    {
    }

    public IChatClient CreateClient(ModelId model, ProviderCallContext context) => new Client(this);

    private sealed class Client(ScriptedProvider owner) : IChatClient
    {
        public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
        {
            var prompt = messages.Last(m => m.Role == ChatRole.User).Text;
            owner.Prompts.Add(prompt);
            var now = Interlocked.Increment(ref owner._inFlight);
            int seen;
            while (now > (seen = Volatile.Read(ref owner._maxInFlight)) && Interlocked.CompareExchange(ref owner._maxInFlight, now, seen) != seen)
            {
            }

            try
            {
                var text = await owner.Behaviour(prompt, cancellationToken);
                return new ChatResponse(new ChatMessage(ChatRole.Assistant, text)) { Usage = new UsageDetails { InputTokenCount = 3, OutputTokenCount = 5 } };
            }
            finally
            {
                Interlocked.Decrement(ref owner._inFlight);
            }
        }

        public IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
            throw new NotSupportedException();

        public object? GetService(Type serviceType, object? serviceKey = null) => null;

        public void Dispose()
        {
        }
    }
}

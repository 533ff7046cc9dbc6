using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using LlmTasks.Batches;
using LlmTasks.Providers;
using Microsoft.Extensions.AI;

namespace LlmTasks.Tests.Doubles;

/// <summary>
/// A provider whose batch API is an in-memory "server" the test drives: batches stay in progress until the test
/// answers, expires or fails them; a cancel is recorded and ends the batch. Named as a real provider (openai by
/// default) so that cost at the batch price can be checked against the live price. Live calls are refused, unless
/// <see cref="AnswersLive"/> (re-asks with -LiveReask): then they answer "live answer: &lt;last user message&gt;".
/// </summary>
public sealed class FakeBatchProvider(string name = "openai", BatchLimits? limits = null) : IChatClientProvider, IBatchProvider
{
    public string Name => name;
    public int? DefaultConcurrency => null;
    public BatchLimits Limits { get; } = limits ?? BatchLimits.OpenAI;
    public IBatchProvider Batches => this;

    public ConcurrentDictionary<string, FakeBatch> Sent { get; } = new();

    /// <summary>Requests answered with an error of this kind (else echoed).</summary>
    public Func<BatchRequest, string?> ErrorKindFor { get; set; } = _ => null;

    public int Polls;

    /// <summary>Live calls are answered (and recorded in <see cref="LiveCalls"/>) instead of refused.</summary>
    public bool AnswersLive { get; init; }

    /// <summary>The messages of each live call made, in order.</summary>
    public ConcurrentQueue<IReadOnlyList<ChatMessage>> LiveCalls { get; } = new();

    public void Validate(ModelId model)
    {
    }

    public IChatClient CreateClient(ModelId model, ProviderCallContext context) =>
        AnswersLive ? new LiveClient(this) : throw new InvalidOperationException("a batch task made a live call");

    private sealed class LiveClient(FakeBatchProvider owner) : IChatClient
    {
        public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
        {
            var sent = messages.ToList();
            owner.LiveCalls.Enqueue(sent);
            var text = "live answer: " + sent.Last(m => m.Role == ChatRole.User).Text;
            return Task.FromResult(new ChatResponse(new ChatMessage(ChatRole.Assistant, text)) { Usage = new UsageDetails { InputTokenCount = 1000, OutputTokenCount = 500 } });
        }

        public IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
            throw new NotSupportedException();

        public object? GetService(Type serviceType, object? serviceKey = null) => null;

        public void Dispose()
        {
        }
    }

    public Task<BatchStatus> SubmitAsync(BatchContext context, IReadOnlyList<BatchRequest> requests, CancellationToken cancellationToken)
    {
        var batch = new FakeBatch($"batch_{Guid.NewGuid():N}", requests.ToList());
        Sent[batch.Id] = batch;
        return Task.FromResult(batch.Status());
    }

    public Task<BatchStatus> GetAsync(BatchContext context, string batchId, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref Polls);
        return Task.FromResult(Sent[batchId].Status());
    }

    public async IAsyncEnumerable<BatchResult> ResultsAsync(BatchContext context, BatchStatus status, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var batch = Sent[status.BatchId];
        foreach (var request in batch.Requests.Take(batch.Answered).Reverse()) // unordered, as the providers' are
        {
            var kind = ErrorKindFor(request);
            yield return kind is null
                ? new BatchResult { CustomId = request.CustomId, Succeeded = true, Output = "answer: " + request.Request.Prompt, InputTokens = 1000, OutputTokens = 500 }
                : new BatchResult { CustomId = request.CustomId, Error = "refused by the fake", ErrorKind = kind };
        }

        await Task.CompletedTask;
    }

    public Task<BatchStatus> CancelAsync(BatchContext context, string batchId, CancellationToken cancellationToken)
    {
        var batch = Sent[batchId];
        batch.CancelRequested = true;
        batch.State = LlmBatchState.Cancelled;
        return Task.FromResult(batch.Status());
    }

    /// <summary>Waits until n batches were sent; the first n, in the order sent is not known: by request count then id.</summary>
    public IReadOnlyList<FakeBatch> WaitForBatches(int n, int seconds = 30)
    {
        Assert.True(SpinWait.SpinUntil(() => Sent.Count >= n, TimeSpan.FromSeconds(seconds)), $"{Sent.Count} of {n} batches were sent");
        return Sent.Values.ToList();
    }
}

public sealed class FakeBatch(string id, List<BatchRequest> requests)
{
    public string Id { get; } = id;
    public List<BatchRequest> Requests { get; } = requests;
    public volatile LlmBatchState State = LlmBatchState.InProgress;
    public volatile int Answered;
    public volatile bool CancelRequested;

    public void Complete()
    {
        Answered = Requests.Count;
        State = LlmBatchState.Completed;
    }

    public void Expire(int answered)
    {
        Answered = answered;
        State = LlmBatchState.Expired;
    }

    public BatchStatus Status() => new()
    {
        BatchId = Id,
        State = State,
        ProviderStatus = State.ToString().ToLowerInvariant(),
        Total = Requests.Count,
        Completed = Answered,
        ExpiresAt = DateTimeOffset.UtcNow.AddHours(24),
    };
}

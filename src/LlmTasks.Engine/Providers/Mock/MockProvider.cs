using System.Globalization;
using Microsoft.Extensions.AI;

namespace LlmTasks.Providers.Mock;

/// <summary>
/// The offline provider, like LiteLLM's mock_response: <c>mock/echo</c> answers with the last user
/// message, <c>mock/delay:250</c> waits 250 ms then echoes, <c>mock/stream:100</c> streams the echo a word every
/// 100 ms (for -Stream and PartialOutput offline), <c>mock/fail</c> fails every call.
/// It runs through the same lifecycle, store and attempts as every real provider.
/// </summary>
public sealed class MockProvider : IChatClientProvider
{
    public string Name => "mock";

    public int? DefaultConcurrency => null;

    public void Validate(ModelId model) => _ = Behaviour(model);

    /// <summary>mock/stream:N streams; the other mock models answer whole (their clients say so: the pipeline does not stream them).</summary>
    public bool StreamsAnswers => true;

    /// <summary>-AsBatch: the offline batch provider (<see cref="MockBatchProvider"/>).</summary>
    public LlmTasks.Batches.IBatchProvider Batches => MockBatchProvider.Instance;

    public IChatClient CreateClient(ModelId model, ProviderCallContext context) => Behaviour(model) switch
    {
        { IsSequence: true } sequence => new MockChatClient(sequence.Next(context.Request)),
        { PieceDelay: not null } streamed => new MockStreamingChatClient(streamed),
        var behaviour => new MockChatClient(behaviour),
    };

    /// <summary>mock/sequence: the stored name of its answers, one per attempt (<see cref="ProviderOptions.MockResponses"/>: Start-LlmTask -MockResponse a, b, c).</summary>
    public const string SequenceOption = "mockResponses";

    internal static MockBehaviour Behaviour(ModelId model)
    {
        var name = model.Model.ToLowerInvariant();
        if (name == "echo")
        {
            return MockBehaviour.Echo;
        }

        if (name == "fail")
        {
            return MockBehaviour.Fail;
        }

        if (name == "sequence")
        {
            return MockBehaviour.Sequence;
        }

        if (name.StartsWith("delay:", StringComparison.Ordinal)
            && int.TryParse(name["delay:".Length..], NumberStyles.None, CultureInfo.InvariantCulture, out var ms))
        {
            return MockBehaviour.Delay(TimeSpan.FromMilliseconds(ms));
        }

        if (name.StartsWith("stream:", StringComparison.Ordinal)
            && int.TryParse(name["stream:".Length..], NumberStyles.None, CultureInfo.InvariantCulture, out var every))
        {
            return MockBehaviour.Stream(TimeSpan.FromMilliseconds(every));
        }

        throw new LlmTasksException(ErrorIds.InvalidModel, LlmErrorCategory.InvalidArgument,
            $"Unknown mock model '{model.Model}'. Use mock/echo, mock/delay:<milliseconds> (for example mock/delay:250), mock/stream:<milliseconds per word> (for example mock/stream:100), mock/fail or mock/sequence.")
        { Target = model.ToString() };
    }
}

/// <summary>What a mock client does with a call.</summary>
internal sealed record MockBehaviour(TimeSpan Wait, bool Fails, string? FixedResponse, bool IsSequence = false, TimeSpan? PieceDelay = null)
{
    /// <summary>
    /// mock/sequence answers attempt n (one more than the assistant turns in the conversation) with
    /// the n-th of its answers; the last one repeats. For re-ask tests: bad, bad, good.
    /// </summary>
    public static MockBehaviour Sequence { get; } = new(TimeSpan.Zero, false, null, IsSequence: true);

    public MockBehaviour Next(LlmTaskRequest request)
    {
        var answers = request.ProviderOptions?.MockResponses ?? [];
        if (answers.Count == 0)
        {
            return Echo; // no answers given: behaves as mock/echo
        }

        var turn = request.Messages.Count(m => m.Role == LlmRole.Assistant);
        return Respond(answers[Math.Min(turn, answers.Count - 1)]);
    }

    public static MockBehaviour Echo { get; } = new(TimeSpan.Zero, false, null);

    public static MockBehaviour Fail { get; } = new(TimeSpan.Zero, true, null);

    public static MockBehaviour Delay(TimeSpan wait) => new(wait, false, null);

    public static MockBehaviour Respond(string text) => new(TimeSpan.Zero, false, text);

    /// <summary>mock/stream:N: the echo, streamed a word every N ms.</summary>
    public static MockBehaviour Stream(TimeSpan every) => new(TimeSpan.Zero, false, null, PieceDelay: every);
}

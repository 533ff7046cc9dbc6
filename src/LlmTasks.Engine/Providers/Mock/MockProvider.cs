using System.Globalization;
using Microsoft.Extensions.AI;

namespace LlmTasks.Providers.Mock;

/// <summary>
/// The offline provider, like LiteLLM's mock_response: <c>mock/echo</c> answers with the last user
/// message, <c>mock/delay:250</c> waits 250 ms then echoes, <c>mock/fail</c> fails every call.
/// It runs through the same lifecycle, store and attempts as every real provider.
/// </summary>
public sealed class MockProvider : IChatClientProvider
{
    public string Name => "mock";

    public int? DefaultConcurrency => null;

    public void Validate(ModelId model) => _ = Behaviour(model);

    public IChatClient CreateClient(ModelId model, ProviderCallContext context) => new MockChatClient(Behaviour(model) is { IsSequence: true } sequence
        ? sequence.Next(context.Request)
        : Behaviour(model));

    /// <summary>mock/sequence: the answers, one per attempt, as a JSON array in this provider option (Start-LlmTask -MockResponse a, b, c).</summary>
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

        throw new LlmTasksException(ErrorIds.InvalidModel, LlmErrorCategory.InvalidArgument,
            $"Unknown mock model '{model.Model}'. Use mock/echo, mock/delay:<milliseconds> (for example mock/delay:250), mock/fail or mock/sequence.")
        { Target = model.ToString() };
    }
}

/// <summary>What a mock client does with a call.</summary>
internal sealed record MockBehaviour(TimeSpan Wait, bool Fails, string? FixedResponse, bool IsSequence = false)
{
    /// <summary>
    /// mock/sequence answers attempt n (one more than the assistant turns in the conversation) with
    /// the n-th of its answers; the last one repeats. For re-ask tests: bad, bad, good.
    /// </summary>
    public static MockBehaviour Sequence { get; } = new(TimeSpan.Zero, false, null, IsSequence: true);

    public MockBehaviour Next(LlmTaskRequest request)
    {
        var answers = request.ProviderOptions?.TryGetValue(MockProvider.SequenceOption, out var json) == true
            ? System.Text.Json.JsonSerializer.Deserialize<string[]>(json) ?? []
            : [];
        if (answers.Length == 0)
        {
            return Echo; // no answers given: behaves as mock/echo
        }

        var turn = request.Messages.Count(m => m.Role == LlmRole.Assistant);
        return Respond(answers[Math.Min(turn, answers.Length - 1)]);
    }

    public static MockBehaviour Echo { get; } = new(TimeSpan.Zero, false, null);

    public static MockBehaviour Fail { get; } = new(TimeSpan.Zero, true, null);

    public static MockBehaviour Delay(TimeSpan wait) => new(wait, false, null);

    public static MockBehaviour Respond(string text) => new(TimeSpan.Zero, false, text);
}

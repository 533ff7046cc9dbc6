using Microsoft.Extensions.AI;

namespace LlmTasks.Providers.Mock;

/// <summary>An <see cref="IChatClient"/> that answers without any network. Usage is an estimate (4 characters a token).</summary>
internal sealed class MockChatClient(MockBehaviour behaviour) : NonStreamingChatClient
{
    public static MockChatClient Respond(string text) => new(MockBehaviour.Respond(text));

    public override async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var list = messages as IReadOnlyCollection<ChatMessage> ?? messages.ToList();
        if (behaviour.Wait > TimeSpan.Zero)
        {
            await Task.Delay(behaviour.Wait, cancellationToken).ConfigureAwait(false);
        }

        cancellationToken.ThrowIfCancellationRequested();
        if (behaviour.Fails)
        {
            throw new MockProviderException("mock/fail: the mock provider fails every call, as asked.");
        }

        var text = behaviour.FixedResponse ?? list.LastOrDefault(m => m.Role == ChatRole.User)?.Text ?? string.Empty;
        var response = new ChatResponse(new ChatMessage(ChatRole.Assistant, text))
        {
            ModelId = options?.ModelId,
            FinishReason = ChatFinishReason.Stop,
            Usage = new UsageDetails
            {
                InputTokenCount = EstimateTokens(list.Sum(m => m.Text.Length)),
                OutputTokenCount = EstimateTokens(text.Length),
            },
        };
        response.Usage.TotalTokenCount = response.Usage.InputTokenCount + response.Usage.OutputTokenCount;
        return response;
    }

    private static long EstimateTokens(int characters) => Math.Max(1, (characters + 3) / 4);
}

/// <summary>The failure mock/fail raises: a provider error like any other.</summary>
public sealed class MockProviderException(string message) : Exception(message);

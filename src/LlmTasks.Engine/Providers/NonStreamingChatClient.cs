using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;

namespace LlmTasks.Providers;

/// <summary>
/// An <see cref="IChatClient"/> for a provider that answers whole responses only (the offline mock, the
/// Claude Code CLI): streaming yields the finished response as updates.
/// </summary>
internal abstract class NonStreamingChatClient : IChatClient
{
    public abstract Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default);

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var response = await GetResponseAsync(messages, options, cancellationToken).ConfigureAwait(false);
        foreach (var update in response.ToChatResponseUpdates())
        {
            yield return update;
        }
    }

    public virtual object? GetService(Type serviceType, object? serviceKey = null) =>
        serviceKey is null && serviceType.IsInstanceOfType(this) ? this : null;

    public virtual void Dispose()
    {
    }
}

using LlmTasks.Execution.Limits;
using LlmTasks.Providers.Pricing;
using Microsoft.Extensions.AI;

namespace LlmTasks.Execution.Pipeline;

/// <summary>
/// Keeps a task within its -MaxCostUsd (<see cref="TaskSpend"/>). It sits inside the retry, before the pacing: each try is
/// checked before it is sent (a refused try waits for no quota and is not retried: ErrorKind CostLimit), and each answer's
/// cost is added to the task's spend as soon as it is in, so the next try, fallback, re-ask or judge call sees it.
/// </summary>
internal sealed class SpendCap(IChatClient inner, CallScope scope) : DelegatingChatClient(inner)
{
    public override async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        if (scope.Spend is not { } spend)
        {
            return await base.GetResponseAsync(messages, options, cancellationToken).ConfigureAwait(false);
        }

        if (spend.Refusal(SureCost(), scope.Request.Model) is { } refusal)
        {
            throw new ModelCallException(new CallFailure(CallErrors.CostLimitKind, refusal));
        }

        var response = await base.GetResponseAsync(messages, options, cancellationToken).ConfigureAwait(false);
        spend.Add(scope.CostOf(response));
        return response;
    }

    /// <summary>What the call costs at the least: its prompt, and -MaxTokens of answer when given, at the model's price (0 when unpriced).</summary>
    private decimal SureCost() => scope.Model is { } model && scope.Request.MockResponse is null
        ? ModelPrices.Cost(model, TokenEstimate.Count(scope.Request.Messages), scope.Request.MaxTokens ?? 0) ?? 0
        : 0;
}

using System.Collections.Concurrent;
using LlmTasks.Batches;
using LlmTasks.Providers;
using LlmTasks.Providers.Mock;

namespace LlmTasks.Execution;

/// <summary>
/// Tasks sent as provider batches (Start-LlmTask -AsBatch). A batch task is stored and held as any other; instead of a
/// lane it joins a gathering of its provider, model, endpoint and key, which is sent as one batch once no task has
/// joined it for <see cref="TaskManagerOptions.BatchWindow"/> (or it reaches the provider's limits, or has gathered for
/// <see cref="TaskManagerOptions.BatchGatherMax"/>). From then on the batch row holds the lease (the tasks are Running,
/// owned by the batch) and this process polls the provider with backoff until the batch ends, then writes each result
/// to its task by custom id. A batch whose process died or shut down is taken over by a wait for its tasks or a worker,
/// which goes on from the stored provider batch id.
/// </summary>
public sealed partial class TaskManager
{
    private readonly object _gatherLock = new();
    private readonly Dictionary<string, Gathering> _gatherings = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<long, HeldBatch> _batches = new();
    private long _lastBatchLookMs = long.MinValue / 2; // store clock: when a worker's pass last looked for batches nobody polls

    /// <summary>The batches this process polls now.</summary>
    internal IReadOnlyCollection<long> HeldBatches => _batches.Keys.ToArray();

    /// <summary>The batch API a task's request goes to: the offline one for -MockResponse, else its provider's (null: it has none).</summary>
    private static IBatchProvider? BatchProviderOf(LlmTaskRequest request, IChatClientProvider? provider) =>
        request.MockResponse is not null ? MockBatchProvider.Instance : provider?.Batches;

    /// <summary>A new request with -AsBatch must go to a provider with a batch API.</summary>
    private static void ValidateBatch(LlmTaskRequest request, ModelId model, IChatClientProvider? provider)
    {
        if (!request.Batch)
        {
            return;
        }

        if (BatchProviderOf(request, provider) is null)
        {
            throw new LlmTasksException(ErrorIds.BatchNotSupported, LlmErrorCategory.InvalidArgument,
                $"-AsBatch: the provider '{model.Provider}' has no batch API LlmTasks can use, so '{model}' cannot be sent as a batch. "
                + "Batches work with openai/… models (OpenAI's Batch API), anthropic/… models (Message Batches), mock/* models (offline) and with -MockResponse; start the task without -AsBatch to call the model live.")
            { Target = model.ToString() };
        }
    }

    private void Track(Task run)
    {
        _runs.TryAdd(run, 0);
        _ = run.ContinueWith(t => _runs.TryRemove(t, out _), TaskScheduler.Default);
    }

    private static LlmTasksException NotBatchable(ModelId model) => new(ErrorIds.BatchNotSupported, LlmErrorCategory.InvalidArgument,
        $"The task was stored to be sent as a batch, but the provider '{model.Provider}' has no batch API in this version of LlmTasks. Restart-LlmTask it after changing -Model.")
    { Target = model.ToString() };
}

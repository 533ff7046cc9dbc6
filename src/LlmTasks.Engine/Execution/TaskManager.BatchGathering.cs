using LlmTasks.Batches;
using LlmTasks.Diagnostics;
using LlmTasks.Providers;
using LlmTasks.Storage;

namespace LlmTasks.Execution;

/// <summary>
/// Batch tasks gathered before they are sent: each joins the gathering of its provider, model, endpoint and key, which is
/// stored as one batch once no task has joined it for <see cref="TaskManagerOptions.BatchWindow"/>, it reaches the
/// provider's limits, or it has gathered for <see cref="TaskManagerOptions.BatchGatherMax"/>.
/// </summary>
public sealed partial class TaskManager
{
    /// <summary>Queues a batch task in its gathering; false when the task is not one (it goes to its lane).</summary>
    private bool TryGather(ActiveTask task)
    {
        var request = task.Task.Request;
        if (!request.Batch || task.ResolveError is not null || task.Model is not { } model)
        {
            return false;
        }

        var provider = BatchProviderOf(request, task.Provider);
        if (provider is null)
        {
            return false; // a stored batch task of a provider without a batch API: its run fails with a clear error
        }

        if (IsLiveReask(task.Task))
        {
            return false; // a batch answer failed its checks and -LiveReask asks again live: it goes to its lane
        }

        var key = string.Join('\n', model.ToString(), request.ApiBase ?? string.Empty, request.MockResponse is null ? "live" : "mock",
            request.ApiKeyGiven ? "own key" : "environment", task.Secrets?.ApiKey ?? string.Empty);
        var size = Storage.StoreJson.Serialize(request).Length + 200L;
        lock (_gatherLock)
        {
            if (!_gatherings.TryGetValue(key, out var gathering))
            {
                gathering = new Gathering(key, provider, model, _options.Time.GetTimestamp());
                _gatherings[key] = gathering;
            }
            else if (gathering.Tasks.Count + 1 > provider.Limits.MaxRequests || gathering.Bytes + size > provider.Limits.MaxBytes)
            {
                FlushLocked(gathering); // full: it goes now, and this task starts the next one
                gathering = new Gathering(key, provider, model, _options.Time.GetTimestamp());
                _gatherings[key] = gathering;
            }

            gathering.Tasks.Add(task);
            gathering.Bytes += size;
            if (_options.Time.GetElapsedTime(gathering.Started) >= _options.BatchGatherMax)
            {
                FlushLocked(gathering);
            }
            else if (gathering.Timer is null)
            {
                gathering.Timer = _options.Time.CreateTimer(_ => Flush(gathering), null, _options.BatchWindow, Timeout.InfiniteTimeSpan);
            }
            else
            {
                gathering.Timer.Change(_options.BatchWindow, Timeout.InfiniteTimeSpan); // a quiet window: each task that joins restarts it
            }
        }

        return true;
    }

    private void Flush(Gathering gathering)
    {
        lock (_gatherLock)
        {
            FlushLocked(gathering);
        }
    }

    private void FlushLocked(Gathering gathering)
    {
        if (gathering.Flushed)
        {
            return;
        }

        gathering.Flushed = true;
        gathering.Timer?.Dispose();
        if (_gatherings.TryGetValue(gathering.Key, out var current) && ReferenceEquals(current, gathering))
        {
            _gatherings.Remove(gathering.Key);
        }

        if (_disposed || _shutdown.IsCancellationRequested)
        {
            return; // shutting down: the tasks are handed back Pending, and the next wait or worker gathers them again
        }

        Track(Task.Run(() => SendGathered(gathering)));
    }

    /// <summary>Stores the gathered tasks as one batch (those nobody stopped meanwhile) and starts polling it.</summary>
    private void SendGathered(Gathering gathering)
    {
        try
        {
            var tasks = NotHeldByBudget(gathering.Tasks.Where(t => t.Reason == CancelReason.None).ToList());
            var first = tasks.FirstOrDefault() ?? gathering.Tasks[0];
            var batch = _store.CreateBatch(new NewBatch(gathering.Model.Provider, gathering.Model.ToString(), first.Task.Request.ApiBase),
                tasks.Select(t => t.Id).ToArray(), Owner, LeaseMs);
            foreach (var task in gathering.Tasks)
            {
                _active.TryRemove(KeyValuePair.Create(task.Id, task)); // held by the batch from now on (or stopped)
                task.MarkEnded();
            }

            if (batch is null)
            {
                return;
            }

            EngineEvents.Verbose(() => $"Batch {batch.Id}: {batch.RequestCount} task(s) of {batch.Model} gathered; sending them to the provider as one batch.", StorePath);
            StartBatch(batch, gathering.Provider, gathering.Model, new ProviderCallContext(first.Id, first.Task.Request, first.Secrets));
        }
        catch (Exception e)
        {
            Faulted?.Invoke(e); // the tasks keep their leases until they run out; then a wait or worker gathers them again
        }
    }

    /// <summary>Tasks gathered for one batch, not sent yet.</summary>
    private sealed class Gathering(string key, IBatchProvider provider, ModelId model, long started)
    {
        public string Key { get; } = key;
        public IBatchProvider Provider { get; } = provider;
        public ModelId Model { get; } = model;
        public long Started { get; } = started;
        public List<ActiveTask> Tasks { get; } = [];
        public long Bytes { get; set; }
        public ITimer? Timer { get; set; }
        public bool Flushed { get; set; }
    }
}

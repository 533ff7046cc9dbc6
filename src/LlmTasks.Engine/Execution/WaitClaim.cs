using System.Collections.Concurrent;
using LlmTasks.Diagnostics;
using LlmTasks.Storage;

namespace LlmTasks.Execution;

/// <summary>Tasks a live process elsewhere holds: who (the owner string), how many, and when the earliest of their leases ends.</summary>
public sealed record LeaseHolding(string Owner, int Count, DateTime? LeaseExpiresAt)
{
    /// <summary>For tasks in a provider batch: the batch as the provider last said ("batch_abc: in_progress, 1,200 of 5,000 done").</summary>
    public string? Batch { get; init; }

    /// <summary>For tasks a budget holds back: the budget ("budget 'Day' of 'reviews*' (5.00 USD spent of 5.00)").</summary>
    public string? Budget { get; init; }

    /// <summary>"3 held by process 1234 on host, lease until 21:08:15"; for a batch's tasks "3 in batch_abc: in_progress, 1 of 3 done".</summary>
    public override string ToString() => Batch is { } batch
        ? $"{Count} in {batch}"
        : Budget is { } budget
            ? $"{Count} waiting for {budget}" + (LeaseExpiresAt is { } turn ? $" until the period turns at {turn:HH:mm:ss}" : string.Empty)
            : $"{Count} held by {LeaseOwner.Describe(Owner)}" + (LeaseExpiresAt is { } at ? $", lease until {at:HH:mm:ss}" : string.Empty);
}

/// <summary>
/// The tasks one wait of this process is waiting for, as the manager's periodic pass sees them: it
/// claims those nobody live holds, and tells the wait which ones another live process holds (for its
/// progress and -Verbose). Ids leave as the wait sees them finish. Thread-safe.
/// </summary>
internal sealed class WaitClaim(IReadOnlyCollection<long> ids, string storePath)
{
    private readonly ConcurrentDictionary<long, byte> _ids = new(ids.Select(id => KeyValuePair.Create(id, (byte)0)));
    private volatile IReadOnlyList<LeaseHolding> _heldElsewhere = [];
    private HashSet<string> _narrated = new(StringComparer.Ordinal);

    public IEnumerable<long> Ids => _ids.Keys;

    public void Remove(long id) => _ids.TryRemove(id, out _);

    /// <summary>The waited-for tasks a live process elsewhere holds, at the last pass.</summary>
    public IReadOnlyList<LeaseHolding> HeldElsewhere => _heldElsewhere;

    /// <summary>On the store worker thread: the unfinished tasks of all waits that live processes elsewhere hold.</summary>
    public void Observe(IReadOnlyList<LeaseState> heldElsewhere, IReadOnlyDictionary<string, string>? batches = null, IReadOnlyDictionary<string, string>? budgets = null)
    {
        var mine = heldElsewhere.Where(s => _ids.ContainsKey(s.Id) && s.Owner is not null)
            .GroupBy(s => s.Owner!, StringComparer.Ordinal)
            .Select(g => new LeaseHolding(g.Key, g.Count(), g.Min(s => s.ExpiresMs) is { } ms ? DateTimeOffset.FromUnixTimeMilliseconds(ms).LocalDateTime : null)
            {
                Batch = batches is not null && batches.TryGetValue(g.Key, out var batch) ? batch : null,
                Budget = budgets is not null && budgets.TryGetValue(g.Key, out var budget) ? budget : null,
            })
            .OrderByDescending(h => h.Count)
            .ToArray();
        var owners = mine.Select(h => h.Owner).ToHashSet(StringComparer.Ordinal);
        foreach (var holding in mine.Where(h => h.Batch is not null && !_narrated.Contains(h.Owner)))
        {
            EngineEvents.Verbose(() => $"Waiting for task(s) {TaskIds.Describe(heldElsewhere.Where(s => s.Owner == holding.Owner && _ids.ContainsKey(s.Id)).Select(s => s.Id))}: "
                + $"{holding}. Their answers come when the provider ends the batch.", storePath);
        }

        foreach (var holding in mine.Where(h => h.Budget is not null && !_narrated.Contains(h.Owner)))
        {
            EngineEvents.Verbose(() => $"Waiting for task(s) {TaskIds.Describe(heldElsewhere.Where(s => s.Owner == holding.Owner && _ids.ContainsKey(s.Id)).Select(s => s.Id))}: "
                + $"{holding}. They run when the period turns, or when Set-LlmBudget raises the cap or Remove-LlmBudget removes it.", storePath);
        }

        foreach (var holding in mine.Where(h => h.Batch is null && h.Budget is null && !_narrated.Contains(h.Owner)))
        {
            EngineEvents.Verbose(() => $"Waiting for task(s) {TaskIds.Describe(heldElsewhere.Where(s => s.Owner == holding.Owner && _ids.ContainsKey(s.Id)).Select(s => s.Id))}: "
                + $"{holding}. The wait leaves them to that process, and takes them over if it ends.", storePath);
        }

        _narrated = owners;
        _heldElsewhere = mine; // after the narration: whoever sees this in progress finds the message queued
    }
}

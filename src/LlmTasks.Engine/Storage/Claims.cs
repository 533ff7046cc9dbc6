namespace LlmTasks.Storage;

/// <summary>
/// The tasks a claim took over (ready to run), and the ones it ended: given up after too many
/// interruptions, or stopped (Stop-LlmTask) while no live process held them. <see cref="Recovered"/>
/// lists the Running tasks among them whose call was cut off, with the owner that had them.
/// </summary>
public sealed record ClaimResult(IReadOnlyList<LlmTask> Claimed, IReadOnlyList<LlmTask> Ended)
{
    public static ClaimResult Empty { get; } = new([], []);

    public IReadOnlyList<(long Id, string? Owner, bool Gone)> Recovered { get; init; } = [];
}

/// <summary>
/// Which tasks a claim may take: any (a worker without filters), these ids (a wait), and/or names and
/// models matching PowerShell wildcards (a worker's -Name and -Model).
/// </summary>
public sealed record ClaimScope
{
    public static ClaimScope Any { get; } = new();

    public IReadOnlyCollection<long>? Ids { get; init; }

    public IReadOnlyList<string>? Names { get; init; }

    public IReadOnlyList<string>? Models { get; init; }

    public bool Filters => Names is { Count: > 0 } || Models is { Count: > 0 };
}

/// <summary>A lease on an unfinished task as the store has it: who holds it (null: nobody) and until when (UTC ms).</summary>
public readonly record struct LeaseState(long Id, bool Running, string? Owner, long? ExpiresMs);

/// <summary>One holder of unfinished tasks: how many it holds and the earliest of their lease ends (UTC ms).</summary>
public readonly record struct LeaseHolder(string? Owner, int Count, long? EarliestExpiryMs);

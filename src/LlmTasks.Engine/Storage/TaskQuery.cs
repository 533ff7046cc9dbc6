namespace LlmTasks.Storage;

/// <summary>What Get-LlmTask and friends ask the store for. Empty lists mean "no filter".</summary>
public sealed record TaskQuery
{
    public IReadOnlyCollection<long>? Ids { get; init; }
    public IReadOnlyCollection<Guid>? InstanceIds { get; init; }
    /// <summary>Names, case-insensitive; * and ? and [a-z] are wildcards as in PowerShell.</summary>
    public IReadOnlyCollection<string>? Names { get; init; }
    public IReadOnlyCollection<LlmTaskState>? States { get; init; }
    /// <summary>Models (provider/model), case-insensitive, with the same wildcards as names.</summary>
    public IReadOnlyCollection<string>? Models { get; init; }
    /// <summary>Created after this instant.</summary>
    public DateTime? After { get; init; }
    /// <summary>Created before this instant.</summary>
    public DateTime? Before { get; init; }
    /// <summary>Finished (or, when not finished, created) before this instant: for retention.</summary>
    public DateTime? FinishedBefore { get; init; }
    /// <summary>Only the newest N matching tasks (still returned oldest first).</summary>
    public int? Newest { get; init; }

    public static TaskQuery All { get; } = new();
}

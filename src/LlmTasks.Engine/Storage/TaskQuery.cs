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
    /// <summary>Text the prompt or the output contains, case-insensitive (no wildcards).</summary>
    public string? Text { get; init; }
    /// <summary>The order to read in (default: by creation). With Sort, Skip or Take the tasks come in this order, not oldest first.</summary>
    public TaskSort? Sort { get; init; }
    /// <summary>With <see cref="Sort"/>: newest, largest or last first.</summary>
    public bool Descending { get; init; }
    /// <summary>Leaves out the first N matching tasks (in <see cref="Sort"/> order): a page's start.</summary>
    public int? Skip { get; init; }
    /// <summary>At most N tasks (in <see cref="Sort"/> order): a page's length.</summary>
    public int? Take { get; init; }

    public static TaskQuery All { get; } = new();
}

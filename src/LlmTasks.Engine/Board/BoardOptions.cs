namespace LlmTasks.Board;

/// <summary>
/// How a task board is served (Start-LlmTaskBoard's parameters). Checked when the board starts: a bad value is an
/// <see cref="ErrorIds.InvalidBoardOption"/> error naming the parameter.
/// </summary>
public sealed record BoardOptions
{
    /// <summary>The loopback port to listen on; 0 (the default) takes a free one.</summary>
    public int Port { get; init; }

    /// <summary>Whether the pages offer Stop, Restart, Approve and Remove (read-only without it).</summary>
    public bool AllowActions { get; init; }

    /// <summary>How often an open page's live connection looks for changes in the store.</summary>
    public TimeSpan RefreshInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>How many of the newest tasks the plots are drawn from.</summary>
    public int PlotSample { get; init; } = 5000;

    /// <summary>The rows a list page shows unless the page asks for another size.</summary>
    public int PageSize { get; init; } = 50;

    /// <summary>Who an approval made on the board is recorded as.</summary>
    public string ApprovedBy { get; init; } = Environment.UserName;

    internal BoardOptions Validated()
    {
        if (Port is < 0 or > 65535)
        {
            throw Invalid($"-Port must be from 1 to 65535 (or 0 for a free port); {Port} is not.", Port);
        }

        if (RefreshInterval <= TimeSpan.Zero || RefreshInterval > TimeSpan.FromMinutes(10))
        {
            throw Invalid($"The refresh interval must be more than 0 and at most 10 minutes; {RefreshInterval} is not.", RefreshInterval);
        }

        if (PlotSample is < 1 or > 1_000_000)
        {
            throw Invalid($"The plots' sample must be from 1 to 1,000,000 tasks; {PlotSample} is not.", PlotSample);
        }

        if (PageSize is < 1 or > BoardQuery.MaxPageSize)
        {
            throw Invalid($"A page must show from 1 to {BoardQuery.MaxPageSize} tasks; {PageSize} is not.", PageSize);
        }

        return this;
    }

    private static LlmTasksException Invalid(string message, object target) =>
        new(ErrorIds.InvalidBoardOption, LlmErrorCategory.InvalidArgument, message) { Target = target };
}

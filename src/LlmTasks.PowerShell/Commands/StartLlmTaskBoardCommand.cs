using System.Management.Automation;
using LlmTasks.Board;
using LlmTasks.PowerShell.Internal;

namespace LlmTasks.PowerShell.Commands;

/// <summary>
/// Serves a live task board for a store to this machine's browser, on 127.0.0.1, until Stop-LlmTaskBoard or the end
/// of the session; writes the board (its Url carries the run's token) and opens it where a desktop runs.
/// </summary>
[Cmdlet(VerbsLifecycle.Start, "LlmTaskBoard")]
[OutputType(typeof(TaskBoard))]
public sealed class StartLlmTaskBoardCommand : LlmTaskCommandBase
{
    /// <summary>The loopback port; a free one when not given.</summary>
    [Parameter]
    public int Port { get; set; }

    /// <summary>Offer Stop, Restart, Approve and Remove on the pages.</summary>
    [Parameter]
    public SwitchParameter AllowActions { get; set; }

    /// <summary>Do not open a browser.</summary>
    [Parameter]
    public SwitchParameter NoBrowser { get; set; }

    /// <summary>Serve until Ctrl+C, then stop the board (for a script or a console of its own).</summary>
    [Parameter]
    public SwitchParameter Wait { get; set; }

    protected override void EndProcessing()
    {
        var manager = Manager();
        TaskBoard board;
        try
        {
            board = TaskBoards.Start(manager, new BoardOptions { Port = Port, AllowActions = AllowActions });
        }
        catch (LlmTasksException e)
        {
            ThrowTerminatingError(ErrorRecords.From(e));
            return;
        }

        WriteObject(board);
        if (!NoBrowser && BoardBrowser.Open(board.Url) is { } problem)
        {
            WriteVerbose(problem);
        }

        if (Wait)
        {
            WriteVerbose($"Serving the board of '{board.StorePath}' at {board.Url} until Ctrl+C.");
            try
            {
                PipelineStopping.WaitHandle.WaitOne();
            }
            finally
            {
                board.Stop();
            }
        }
    }
}

using System.Net;
using LlmTasks.Execution;

namespace LlmTasks.Board;

/// <summary>
/// A live task board for one store, served to this machine's browser on 127.0.0.1 until it is stopped (Stop-LlmTaskBoard)
/// or the process ends. Its <see cref="Url"/> carries the run's random token: without it, nothing is shown.
/// </summary>
public sealed class TaskBoard : IDisposable
{
    private readonly HttpListener _listener;
    private readonly BoardChanges _changes;
    private readonly BoardServer _server;
    private readonly Task _accepting;
    private int _stopped;

    private TaskBoard(int id, TaskManager manager, BoardOptions options, HttpListener listener)
    {
        Id = id;
        _listener = listener;
        Port = new Uri(listener.Prefixes.First()).Port;
        var context = new BoardContext(manager, options);
        var access = new BoardAccess(Port);
        _changes = new BoardChanges(context);
        _server = new BoardServer(context, access, _changes);
        Url = $"http://127.0.0.1:{Port}/?token={access.Token}";
        StorePath = manager.StorePath;
        AllowActions = options.AllowActions;
        StartedAt = manager.Time.GetLocalNow().DateTime;
        _changes.Start();
        _accepting = Task.Run(Accept);
    }

    /// <summary>The board's number in this process (Get-LlmTaskBoard -Id).</summary>
    public int Id { get; }

    /// <summary>The address to open, with its token.</summary>
    public string Url { get; }

    public int Port { get; }

    public string StorePath { get; }

    public bool AllowActions { get; }

    public DateTime StartedAt { get; }

    public bool IsRunning => Volatile.Read(ref _stopped) == 0;

    /// <summary>Starts a board for the store of <paramref name="manager"/>; the options are checked first.</summary>
    internal static TaskBoard Start(int id, TaskManager manager, BoardOptions options)
    {
        var valid = options.Validated();
        return new TaskBoard(id, manager, valid, BoardListener.Listen(valid.Port));
    }

    private async Task Accept()
    {
        while (IsRunning)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync().ConfigureAwait(false);
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return; // stopped
            }

            _ = Task.Run(() => _server.Handle(context));
        }
    }

    /// <summary>Stops listening and ends the open pages' live connections.</summary>
    public void Stop()
    {
        if (Interlocked.Exchange(ref _stopped, 1) != 0)
        {
            return;
        }

        _changes.Dispose();
        try
        {
            _listener.Stop();
            _listener.Close();
        }
        catch (ObjectDisposedException)
        {
        }

        _accepting.Wait(TimeSpan.FromSeconds(5));
        TaskBoards.Forget(this);
    }

    public void Dispose() => Stop();

    public override string ToString() => Url;
}

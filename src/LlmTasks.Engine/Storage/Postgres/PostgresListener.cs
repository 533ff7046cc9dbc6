using Npgsql;

namespace LlmTasks.Storage.Postgres;

/// <summary>
/// <c>LISTEN</c> on a connection of its own, on a background thread: every notification the stores of any process
/// send on commit (tasks added, finished, asked to stop) reaches <paramref name="onNotification"/> at once. When the
/// connection is lost (a server restart) it connects again, with a growing pause, and then calls
/// <paramref name="onReconnected"/> (notifications may have been missed meanwhile); until then polling finds the changes.
/// <see cref="WaitUntilListening"/> lets the store's first listener take effect before anything it is meant to hear.
/// </summary>
internal sealed class PostgresListener : IDisposable
{
    private static readonly TimeSpan WaitSlice = TimeSpan.FromSeconds(1);
    private readonly NpgsqlDataSource _data;
    private readonly string _channel;
    private readonly string _store;
    private readonly Action<string> _onNotification;
    private readonly Action _onReconnected;
    private readonly Thread _thread;
    private readonly ManualResetEventSlim _firstTry = new();
    private volatile bool _stopped;
    private NpgsqlConnection? _connection;

    public PostgresListener(string connection, string channel, string store, Action<string> onNotification, Action onReconnected)
    {
        _data = PostgresReference.DataSource(connection, b =>
        {
            b.Pooling = false; // a session of its own, closed when the listener stops
            b.KeepAlive = 15; // a server that vanished without a word is noticed
            b.MaxAutoPrepare = 0;
        });
        _channel = channel;
        _store = store;
        _onNotification = onNotification;
        _onReconnected = onReconnected;
        _thread = new Thread(Run) { IsBackground = true, Name = "LlmTasks store listener" };
        _thread.Start();
    }

    private void Run()
    {
        var pause = TimeSpan.FromMilliseconds(200);
        var first = true;
        while (!_stopped)
        {
            try
            {
                using var connection = _data.CreateConnection();
                connection.Notification += (_, e) => Notify(e.Payload);
                connection.Open();
                using (var listen = new NpgsqlCommand($"LISTEN {_channel}", connection))
                {
                    listen.ExecuteNonQuery();
                }

                Volatile.Write(ref _connection, connection);
                _firstTry.Set();
                if (!first)
                {
                    Guard(_onReconnected);
                }

                first = false;
                pause = TimeSpan.FromMilliseconds(200);
                while (!_stopped)
                {
                    connection.Wait(WaitSlice); // returns on a notification or after the slice, to look at _stopped
                }
            }
            catch (Exception e) when (e is NpgsqlException or IOException or InvalidOperationException or ObjectDisposedException)
            {
                if (_stopped)
                {
                    return;
                }

                _firstTry.Set(); // the first try failed: nobody waits for the retries, the poll stands in meanwhile
                Diagnostics.EngineEvents.Debug(() => $"Listening for changes to the task store '{_store}' failed ({e.Message.TrimEnd('.')}); trying again in {pause.TotalSeconds:0.#} s, polling meanwhile.", _store);
                Thread.Sleep(pause);
                pause = TimeSpan.FromTicks(Math.Min(pause.Ticks * 2, TimeSpan.FromSeconds(5).Ticks));
            }
            finally
            {
                Volatile.Write(ref _connection, null);
            }
        }
    }

    /// <summary>
    /// Waits until the first <c>LISTEN</c> took effect (or failed, or <paramref name="timeout"/> passed): from then on every
    /// commit elsewhere is heard, so a worker or wait that looks at the store after this misses nothing in between.
    /// </summary>
    public bool WaitUntilListening(TimeSpan timeout) => _firstTry.Wait(timeout) && Volatile.Read(ref _connection) is not null;

    private void Notify(string payload) => Guard(() => _onNotification(payload));

    private static void Guard(Action action)
    {
        try
        {
            action();
        }
        catch (Exception)
        {
            // A handler's failure must not end listening: the poll finds the change anyway.
        }
    }

    public void Dispose()
    {
        _stopped = true;
        if (!_thread.Join(TimeSpan.FromSeconds(3)))
        {
            try
            {
                Volatile.Read(ref _connection)?.Close(); // wakes a Wait stuck on a dead socket
            }
            catch (Exception e) when (e is NpgsqlException or InvalidOperationException)
            {
            }
        }

        _data.Dispose();
        _firstTry.Dispose();
    }
}

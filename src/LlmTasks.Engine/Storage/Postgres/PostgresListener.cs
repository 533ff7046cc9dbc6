using Npgsql;

namespace LlmTasks.Storage.Postgres;

/// <summary>
/// <c>LISTEN</c> on a connection of its own, on a background thread: every notification the stores of any process
/// send on commit (tasks added, finished, asked to stop) reaches <paramref name="onNotification"/> at once. When the
/// connection is lost (a server restart) it connects again, with a growing pause. Each time <c>LISTEN</c> has taken
/// effect, the first time too, it calls <paramref name="onListening"/>: changes committed before that sent
/// notifications nobody heard (a worker whose first pass ran before the listener connected would otherwise sleep
/// through tasks added meanwhile until its next poll); until then polling finds the changes.
/// </summary>
internal sealed class PostgresListener : IDisposable
{
    private static readonly TimeSpan WaitSlice = TimeSpan.FromSeconds(1);
    private readonly NpgsqlDataSource _data;
    private readonly string _channel;
    private readonly string _store;
    private readonly Action<string> _onNotification;
    private readonly Action _onListening;
    private readonly Thread _thread;
    private volatile bool _stopped;
    private NpgsqlConnection? _connection;

    public PostgresListener(string connection, string channel, string store, Action<string> onNotification, Action onListening)
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
        _onListening = onListening;
        _thread = new Thread(Run) { IsBackground = true, Name = "LlmTasks store listener" };
        _thread.Start();
    }

    private void Run()
    {
        var pause = TimeSpan.FromMilliseconds(200);
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
                Guard(_onListening);
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
    }
}

namespace LlmTasks.Diagnostics;

/// <summary>How much a listener wants to hear: Verbose is what a user follows (-Verbose), Debug the detail behind it (-Debug).</summary>
public enum EngineEventLevel
{
    Verbose,
    Debug,
}

/// <summary>One thing the engine did: a store opened, a task stored, a call sent, a retry and its wait, a lease handed over.</summary>
/// <param name="Store">The store it happened on (its printable reference), when there is one.</param>
/// <param name="TaskId">The task it concerns, when there is one.</param>
public sealed record EngineEvent(EngineEventLevel Level, string Message, string? Store = null, long? TaskId = null)
{
    public DateTimeOffset At { get; init; } = DateTimeOffset.UtcNow;
}

/// <summary>
/// The engine's narration, for -Verbose and -Debug. Raised on whatever thread did the work (often a
/// background one): a listener only queues the event; a cmdlet writes it later from its own pipeline
/// thread. Every message goes through the engine's logging (<see cref="EngineLog"/>), so the same records
/// feed these events and, while exporting, OpenTelemetry logs. Messages never hold a secret (every message is
/// redacted by <see cref="Secrets"/> before it is logged) and are built only while someone listens.
/// </summary>
public static class EngineEvents
{
    private static event Action<EngineEvent>? RaisedEvent;
    private static int _listeners;

    /// <summary>True while at least one listener is subscribed or the records are exported: callers skip building messages otherwise.</summary>
    public static bool Enabled => Listening || EngineLog.Exporting;

    /// <summary>True while a listener (a cmdlet with -Verbose or -Debug) is subscribed.</summary>
    internal static bool Listening => Volatile.Read(ref _listeners) > 0;

    public static event Action<EngineEvent> Raised
    {
        add
        {
            RaisedEvent += value;
            Interlocked.Increment(ref _listeners);
        }
        remove
        {
            RaisedEvent -= value;
            Interlocked.Decrement(ref _listeners);
        }
    }

    public static void Verbose(string message, string? store = null, long? taskId = null) => Log(EngineEventLevel.Verbose, message, store, taskId);

    public static void Debug(string message, string? store = null, long? taskId = null) => Log(EngineEventLevel.Debug, message, store, taskId);

    /// <summary>Builds the message only when someone listens (for messages that cost something to make).</summary>
    public static void Verbose(Func<string> message, string? store = null, long? taskId = null)
    {
        if (Enabled)
        {
            Verbose(message(), store, taskId);
        }
    }

    /// <inheritdoc cref="Verbose(Func{string}, string?, long?)"/>
    public static void Debug(Func<string> message, string? store = null, long? taskId = null)
    {
        if (Enabled)
        {
            Debug(message(), store, taskId);
        }
    }

    private static void Log(EngineEventLevel level, string message, string? store, long? taskId)
    {
        if (!Enabled)
        {
            return;
        }

        try
        {
            EngineLog.Write(level, Secrets.Redact(message), store, taskId);
        }
        catch (Exception)
        {
            // Narration must never break the work it describes.
        }
    }

    /// <summary>Hands a (redacted) record to the listeners: called by the logging provider that feeds them.</summary>
    internal static void Raise(EngineEvent e)
    {
        try
        {
            RaisedEvent?.Invoke(e);
        }
        catch (Exception)
        {
            // Narration must never break the work it describes.
        }
    }
}

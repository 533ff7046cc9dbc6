using Microsoft.Extensions.Logging;

namespace LlmTasks.Diagnostics;

/// <summary>
/// The engine's logging: one <see cref="ILoggerFactory"/> (Microsoft.Extensions.Logging) that every narration goes
/// through, from the store's to the model-call pipeline's. Its providers: one that raises <see cref="EngineEvents"/>
/// (what the cmdlets write as -Verbose and -Debug, from their own thread), and, while OTLP export is on
/// (<see cref="TelemetryExport"/>), OpenTelemetry's, which exports the same records as logs beside the spans
/// they happened in. Messages are redacted before they are logged, so no provider sees a key.
/// </summary>
internal static class EngineLog
{
    private static readonly object Lock = new();
    private static ILoggerFactory _factory = Create(null);
    private static ILogger _logger = _factory.CreateLogger(EngineTelemetry.SourceName);
    private static volatile bool _exporting;

    /// <summary>True while the records also go to an exporter (so they are made even when no cmdlet listens).</summary>
    public static bool Exporting => _exporting;

    public static void Write(EngineEventLevel level, string message, string? store, long? taskId)
    {
        var logLevel = level == EngineEventLevel.Verbose ? LogLevel.Information : LogLevel.Debug;
        var logger = Volatile.Read(ref _logger);
        if (logger.IsEnabled(logLevel))
        {
            logger.Log(logLevel, default, new Narrated(message, store, taskId), null, static (state, _) => state.Message);
        }
    }

    /// <summary>Adds (or, with null, removes) the exporting providers.</summary>
    internal static void Export(Action<ILoggingBuilder>? exporters)
    {
        ILoggerFactory old;
        lock (Lock)
        {
            old = _factory;
            _factory = Create(exporters);
            Volatile.Write(ref _logger, _factory.CreateLogger(EngineTelemetry.SourceName));
            _exporting = exporters is not null;
        }

        old.Dispose(); // flushes what the old exporters hold
    }

    private static ILoggerFactory Create(Action<ILoggingBuilder>? exporters) => LoggerFactory.Create(builder =>
    {
        builder.SetMinimumLevel(LogLevel.Debug);
        builder.AddProvider(new EngineEventsLoggerProvider());
        exporters?.Invoke(builder);
    });

    /// <summary>A narration record: its text, and the store and task it is about (attributes for exporters).</summary>
    private sealed class Narrated(string message, string? store, long? taskId) : IReadOnlyList<KeyValuePair<string, object?>>
    {
        public string Message => message;
        public string? Store => store;
        public long? TaskId => taskId;

        public int Count => 3;

        public KeyValuePair<string, object?> this[int index] => index switch
        {
            0 => new("llmtasks.task.id", taskId),
            1 => new("llmtasks.store", store),
            _ => new("{OriginalFormat}", message),
        };

        public IEnumerator<KeyValuePair<string, object?>> GetEnumerator()
        {
            for (var i = 0; i < Count; i++)
            {
                yield return this[i];
            }
        }

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();

        public override string ToString() => message;
    }

    /// <summary>Raises each record as an <see cref="EngineEvent"/> for the cmdlets that listen.</summary>
    private sealed class EngineEventsLoggerProvider : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => Events.Instance;

        public void Dispose()
        {
        }

        private sealed class Events : ILogger
        {
            public static Events Instance { get; } = new();

            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => EngineEvents.Listening && logLevel is LogLevel.Information or LogLevel.Debug;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                if (!IsEnabled(logLevel))
                {
                    return;
                }

                var level = logLevel == LogLevel.Information ? EngineEventLevel.Verbose : EngineEventLevel.Debug;
                EngineEvents.Raise(state is Narrated n
                    ? new EngineEvent(level, n.Message, n.Store, n.TaskId)
                    : new EngineEvent(level, Secrets.Redact(formatter(state, exception))));
            }
        }
    }
}

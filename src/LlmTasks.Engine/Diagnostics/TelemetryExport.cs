using System.Diagnostics;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Logs;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace LlmTasks.Diagnostics;

/// <summary>
/// Exports the engine's spans, metrics and logs over OTLP, for this process, when <see cref="TelemetryOptions"/> says
/// so: started with the first task manager, flushed and stopped when the managers shut down (process exit, SIGTERM,
/// Remove-Module). Nothing is exported otherwise, and nothing listens: the pipeline then leaves its GenAI client out.
/// Every string attribute of every span is redacted on the way out (<see cref="Secrets"/>): a key this process read
/// never leaves it, whatever a provider put in an error message.
/// </summary>
internal static class TelemetryExport
{
    private static readonly object Lock = new();
    private static TracerProvider? _traces;
    private static MeterProvider? _metrics;
    private static TelemetryOptions? _options;

    /// <summary>The options read when export started (read from the environment on first use).</summary>
    public static TelemetryOptions Options
    {
        get
        {
            var options = Volatile.Read(ref _options);
            if (options is null)
            {
                options = new TelemetryOptions();
                Interlocked.CompareExchange(ref _options, options, null);
            }

            return _options!;
        }
    }

    private static bool _started;
    private static bool _exporting;

    /// <summary>Starts exporting if the environment asks for it (once; later calls do nothing).</summary>
    public static void Start()
    {
        if (Volatile.Read(ref _started))
        {
            return;
        }

        lock (Lock)
        {
            if (_started)
            {
                return;
            }

            var options = new TelemetryOptions(); // a bad value is an error naming its variable, here, before anything runs
            _options = options;
            _started = true;
            if (!options.ExportsAnything)
            {
                return;
            }

            _exporting = true;
            Export(options);
        }
    }

    /// <summary>
    /// Builds the exporters. A method of its own, so a process that exports nothing never loads the OpenTelemetry SDK
    /// (compiling <see cref="Start"/> would otherwise resolve its types).
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static void Export(TelemetryOptions options)
    {
        if (options.ExportTraces)
        {
            _traces = Sdk.CreateTracerProviderBuilder()
                .ConfigureResource(r => Resource(r, options))
                .AddSource(EngineTelemetry.SourceName)
                .AddProcessor(new RedactingProcessor())
                .AddOtlpExporter()
                .Build();
        }

        if (options.ExportMetrics)
        {
            _metrics = Sdk.CreateMeterProviderBuilder()
                .ConfigureResource(r => Resource(r, options))
                .AddMeter(EngineTelemetry.SourceName)
                .AddOtlpExporter()
                .Build();
        }

        if (options.ExportLogs)
        {
            EngineLog.Export(builder => builder.AddOpenTelemetry(o =>
            {
                var resource = ResourceBuilder.CreateDefault();
                Resource(resource, options);
                o.SetResourceBuilder(resource);
                o.AddOtlpExporter();
            }));
        }
    }

    /// <summary>Sends what is buffered and stops; a later <see cref="Start"/> (the module imported again) starts again.</summary>
    public static void Shutdown()
    {
        lock (Lock)
        {
            if (!_started)
            {
                return;
            }

            _started = false;
            if (_exporting)
            {
                _exporting = false;
                StopExport();
            }
        }
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static void StopExport()
    {
        try
        {
            _traces?.ForceFlush(5000);
            _metrics?.ForceFlush(5000);
        }
        finally
        {
            _traces?.Dispose();
            _metrics?.Dispose();
            _traces = null;
            _metrics = null;
            if (EngineLog.Exporting)
            {
                EngineLog.Export(null);
            }
        }
    }

    private static ResourceBuilder Resource(ResourceBuilder resource, TelemetryOptions options)
    {
        resource.AddAttributes([new("llmtasks.version", typeof(TelemetryExport).Assembly.GetName().Version?.ToString(3) ?? "0.0.0")]);
        return options.ServiceNameGiven ? resource : resource.AddService("llmtasks");
    }

    /// <summary>Redacts every string attribute and the status text of each span before it is exported.</summary>
    private sealed class RedactingProcessor : BaseProcessor<Activity>
    {
        public override void OnEnd(Activity data)
        {
            List<KeyValuePair<string, string>>? changed = null;
            foreach (var tag in data.TagObjects)
            {
                if (tag.Value is string text && Secrets.Redact(text) is var redacted && !ReferenceEquals(redacted, text) && redacted != text)
                {
                    (changed ??= []).Add(new(tag.Key, redacted));
                }
            }

            foreach (var (key, value) in changed ?? [])
            {
                data.SetTag(key, value);
            }

            if (data.StatusDescription is { } description && Secrets.Redact(description) is var status && status != description)
            {
                data.SetStatus(data.Status, status);
            }
        }
    }
}

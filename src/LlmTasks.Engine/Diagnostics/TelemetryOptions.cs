using LlmTasks.Configuration;

namespace LlmTasks.Diagnostics;

/// <summary>
/// Whether and what the engine exports over OTLP, from the standard OpenTelemetry variables (read here, through
/// <see cref="EngineEnvironment"/>): export only when an OTLP endpoint is set ($env:OTEL_EXPORTER_OTLP_ENDPOINT, or the
/// per-signal _TRACES_/_METRICS_/_LOGS_ENDPOINT), never when $env:OTEL_SDK_DISABLED is true; a signal whose
/// OTEL_*_EXPORTER is 'none' is not exported. Where and how (protocol, headers, timeout, intervals, resource) the
/// OpenTelemetry SDK reads from the same variables itself, as every OpenTelemetry SDK does. Prompts and answers go on
/// spans only with $env:OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT = 'true'.
/// </summary>
public sealed record TelemetryOptions
{
    public const string EndpointVariable = "OTEL_EXPORTER_OTLP_ENDPOINT";
    public const string CaptureContentVariable = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT";

    public TelemetryOptions()
        : this(EngineEnvironment.Process)
    {
    }

    public TelemetryOptions(EngineEnvironment environment)
    {
        var disabled = environment.Flag("OTEL_SDK_DISABLED", "false") ?? false;
        var any = environment.Text(EndpointVariable) is not null;
        bool Signal(string name, string exporterVariable) =>
            !disabled && (any || environment.Text($"OTEL_EXPORTER_OTLP_{name}_ENDPOINT") is not null)
            && !string.Equals(environment.Text(exporterVariable), "none", StringComparison.OrdinalIgnoreCase);
        ExportTraces = Signal("TRACES", "OTEL_TRACES_EXPORTER");
        ExportMetrics = Signal("METRICS", "OTEL_METRICS_EXPORTER");
        ExportLogs = Signal("LOGS", "OTEL_LOGS_EXPORTER");
        CaptureMessageContent = environment.Flag(CaptureContentVariable, "false") ?? false;
        ServiceNameGiven = environment.Text("OTEL_SERVICE_NAME") is not null
            || (environment.Text("OTEL_RESOURCE_ATTRIBUTES")?.Contains("service.name=", StringComparison.Ordinal) ?? false);
    }

    public bool ExportTraces { get; init; }
    public bool ExportMetrics { get; init; }
    public bool ExportLogs { get; init; }

    /// <summary>Whether the GenAI spans carry the messages sent and the answers (off by default: they are the user's data).</summary>
    public bool CaptureMessageContent { get; init; }

    /// <summary>Whether the user named the service; if not, it is "llmtasks".</summary>
    public bool ServiceNameGiven { get; init; }

    public bool ExportsAnything => ExportTraces || ExportMetrics || ExportLogs;
}

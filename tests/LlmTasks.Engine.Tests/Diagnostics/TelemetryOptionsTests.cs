using LlmTasks.Configuration;
using LlmTasks.Diagnostics;

namespace LlmTasks.Tests.Diagnostics;

/// <summary>
/// OTLP export is on only when the standard variables ask for it, per signal, and content capture only when
/// $env:OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT is true; a value that cannot be read names its variable.
/// (The export itself is received on a loopback collector by the cmdlet tests' OtlpExportTests.)
/// </summary>
public sealed class TelemetryOptionsTests
{
    private static TelemetryOptions With(params (string Name, string Value)[] variables)
    {
        var values = variables.ToDictionary(v => v.Name, v => v.Value);
        return new TelemetryOptions(new EngineEnvironment(name => values.TryGetValue(name, out var v) ? v : null));
    }

    [Fact]
    public void Nothing_is_exported_or_captured_when_no_OTLP_variable_is_set()
    {
        var options = With();
        Assert.False(options.ExportsAnything);
        Assert.False(options.CaptureMessageContent);
    }

    [Fact]
    public void The_endpoint_turns_every_signal_on_and_a_signal_endpoint_only_its_own()
    {
        var all = With(("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318"));
        Assert.Equal((true, true, true), (all.ExportTraces, all.ExportMetrics, all.ExportLogs));
        var traces = With(("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://127.0.0.1:4318/v1/traces"));
        Assert.Equal((true, false, false), (traces.ExportTraces, traces.ExportMetrics, traces.ExportLogs));
    }

    [Fact]
    public void An_exporter_of_none_or_a_disabled_SDK_turns_export_off()
    {
        var noLogs = With(("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318"), ("OTEL_LOGS_EXPORTER", "none"));
        Assert.Equal((true, true, false), (noLogs.ExportTraces, noLogs.ExportMetrics, noLogs.ExportLogs));
        Assert.False(With(("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318"), ("OTEL_SDK_DISABLED", "true")).ExportsAnything);
    }

    [Fact]
    public void Content_is_captured_only_when_asked_and_a_value_that_is_not_a_flag_is_an_error_naming_the_variable()
    {
        Assert.True(With(("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "true")).CaptureMessageContent);
        Assert.False(With(("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "false")).CaptureMessageContent);
        var e = Assert.Throws<LlmTasksException>(() => With(("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "please")));
        Assert.Equal(ErrorIds.InvalidEnvironment, e.ErrorId);
        Assert.Contains("$env:OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", e.Message);
    }
}

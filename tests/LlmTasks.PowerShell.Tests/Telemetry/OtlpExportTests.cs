using LlmTasks.Tests.Http;

namespace LlmTasks.PowerShell.Tests.Telemetry;

/// <summary>
/// OpenTelemetry as an operator turns it on: real pwsh with the standard $env:OTEL_EXPORTER_OTLP_* variables runs
/// tasks against a loopback OpenAI-style endpoint, and a loopback OTLP collector receives the spans and metrics: the
/// engine's task and attempt spans, the GenAI client's chat span with the semantic conventions' attributes, the GenAI
/// metrics and the engine's own. A key is never exported (not even inside a provider's error message that quotes it),
/// nor the prompts and answers unless $env:OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT is true.
/// </summary>
public sealed class OtlpExportTests : IDisposable
{
    // Not shaped like a key (no sk- prefix): only the engine's knowledge of the key it read can redact it.
    private const string Key = "otlp-test-credential-5e1f9a7c3b";
    private const string Prompt = "Tell me one fact about otters";
    private const string Answer = "Otters hold hands while they sleep.";
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "llmtasks-otlp", Guid.NewGuid().ToString("N"));
    private readonly LoopbackServer _model = new();

    public OtlpExportTests()
    {
        Directory.CreateDirectory(_folder);
        _model.Script(Reply.From(request => request.Body.Contains("Denied", StringComparison.Ordinal)
            ? Reply.Json(401, RecordedResponses.OpenAIError($"Incorrect API key provided: {Key}. You can find your API key in your account.", "invalid_request_error", "invalid_api_key"))
            : Reply.Json(200, RecordedResponses.OpenAIChat(Answer, input: 12, output: 9))));
    }

    public void Dispose()
    {
        _model.Dispose();
        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private Pwsh.Result Run(OtlpReceiver collector, bool captureContent)
    {
        var environment = new Dictionary<string, string?>
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = collector.Endpoint,
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
            ["OTEL_BSP_SCHEDULE_DELAY"] = "200",
            ["OTEL_METRIC_EXPORT_INTERVAL"] = "500",
            ["OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"] = captureContent ? "true" : null,
            ["OTEL_SERVICE_NAME"] = null,
            ["OTEL_RESOURCE_ATTRIBUTES"] = null,
            ["T_KEY"] = Key,
            ["T_BASE"] = _model.Url + "/v1",
            ["T_STORE"] = Path.Combine(_folder, Guid.NewGuid().ToString("N") + ".db"),
        };
        var result = Pwsh.Run(["-Command", $$"""
            $ErrorActionPreference = 'Stop'
            $ok = Start-LlmTask '{{Prompt}}' -Model openai/otter-model -ApiBase $env:T_BASE -ApiKey $env:T_KEY -StorePath $env:T_STORE -Wait
            $denied = Start-LlmTask 'Denied, please' -Model openai/otter-model -ApiBase $env:T_BASE -ApiKey $env:T_KEY -StorePath $env:T_STORE -Wait
            "states: $($ok.State) $($denied.State) $($denied.ErrorKind)"
            """], environment);
        Assert.True(result.ExitCode == 0, result.Output + result.Errors);
        Assert.Contains("states: Completed Failed", result.Output);
        return result;
    }

    [Fact]
    public void Spans_and_metrics_reach_an_OTLP_endpoint_with_the_GenAI_attributes_and_never_a_key_or_content()
    {
        using var collector = new OtlpReceiver();
        Run(collector, captureContent: false);

        var spans = ExportedSpan.Read(collector.Bodies("traces"));
        Assert.True(spans.Count > 0, "no spans were exported; requests: " + string.Join(", ", collector.Paths));
        var tasks = spans.Where(s => s.Name == "llmtasks.task").ToList();
        Assert.Equal(2, tasks.Count);
        Assert.All(tasks, t => Assert.Equal("otter-model", t.Attributes["gen_ai.request.model"]));
        Assert.Contains(tasks, t => t.Attributes["llmtasks.task.state"] == "Completed");
        var failed = Assert.Single(tasks, t => t.Attributes["llmtasks.task.state"] == "Failed");
        Assert.Equal("AuthenticationFailed", failed.Attributes["error.type"]);

        var attempts = spans.Where(s => s.Name == "llmtasks.attempt").ToList();
        Assert.Equal(2, attempts.Count);
        var succeeded = Assert.Single(attempts, a => a.Attributes["llmtasks.attempt.outcome"] == "Succeeded");
        Assert.Equal(("chat", "openai", "12", "9"), (succeeded.Attributes["gen_ai.operation.name"], succeeded.Attributes["gen_ai.provider.name"],
            succeeded.Attributes["gen_ai.usage.input_tokens"], succeeded.Attributes["gen_ai.usage.output_tokens"]));
        Assert.Equal("true", succeeded.Attributes["llmtasks.streaming"]);
        Assert.True(succeeded.Attributes.ContainsKey("llmtasks.time_to_first_token"));

        // Microsoft.Extensions.AI's OpenTelemetry client: the GenAI semantic conventions' client span.
        var chats = spans.Where(s => s.Name == "chat otter-model").ToList();
        Assert.Equal(2, chats.Count);
        Assert.All(chats, c => Assert.Equal(("chat", "otter-model"), (c.Attributes["gen_ai.operation.name"], c.Attributes["gen_ai.request.model"])));
        Assert.Contains(chats, c => c.Attributes.TryGetValue("gen_ai.usage.output_tokens", out var n) && n == "9");
        Assert.All(spans, s => Assert.Equal("llmtasks", s.Resource["service.name"]));

        var metrics = (from body in collector.Bodies("metrics")
                       from resource in new Protobuf(body).Messages(1)
                       from scope in resource.Messages(2)
                       from metric in scope.Messages(2)
                       select metric.String(1)).ToHashSet();
        Assert.Contains("gen_ai.client.operation.duration", metrics);
        Assert.Contains("gen_ai.client.token.usage", metrics);
        Assert.Contains("llmtasks.attempts", metrics);
        Assert.Contains("llmtasks.tasks", metrics);
        Assert.Contains("llmtasks.queue.depth", metrics);

        // The 401 quoted the key: it was redacted on the way out, as everywhere else. Nor is the user's content exported.
        Assert.Contains(spans, s => s.StatusMessage?.Contains("Incorrect API key provided: ***", StringComparison.Ordinal) == true
            || s.Attributes.Values.Any(v => v.Contains("Incorrect API key provided: ***", StringComparison.Ordinal)));
        Assert.False(collector.AnyContains(Key), "the key was exported");
        Assert.False(collector.AnyContains(Prompt), "the prompt was exported without OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT");
        Assert.False(collector.AnyContains(Answer), "the answer was exported without OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT");
    }

    [Fact]
    public void Prompts_and_answers_are_exported_only_when_content_capture_is_on_and_the_key_still_never()
    {
        using var collector = new OtlpReceiver();
        Run(collector, captureContent: true);

        Assert.True(collector.AnyContains(Prompt), "the prompt was not on the GenAI span");
        Assert.True(collector.AnyContains(Answer), "the answer was not on the GenAI span");
        Assert.False(collector.AnyContains(Key), "the key was exported");
    }
}

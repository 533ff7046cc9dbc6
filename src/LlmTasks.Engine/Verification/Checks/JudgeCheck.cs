using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using LlmTasks.Providers;
using LlmTasks.Providers.Mock;
using LlmTasks.Storage;
using Microsoft.Extensions.AI;

namespace LlmTasks.Verification.Checks;

/// <summary>
/// Judge: asks a model for a structured verdict {passed, reasoning} on the output, by Criteria or a
/// Prompt with {OUTPUT} and {PROMPT} placeholders. The judge call is an attempt of its own (usage, cost).
/// </summary>
internal sealed class JudgeCheck : IOutputCheck
{
    private const string VerdictSchema = """
        {"type":"object","properties":{"passed":{"type":"boolean"},"reasoning":{"type":"string"}},"required":["passed","reasoning"],"additionalProperties":false}
        """;

    private readonly ModelId _model;
    private readonly IChatClientProvider? _provider;

    public JudgeCheck(CheckSpec spec, ProviderRegistry providers, Func<string, Exception> invalid)
    {
        Spec = spec;
        if (string.IsNullOrWhiteSpace(spec.Model))
        {
            throw invalid("it needs Model, the judging model (provider/model).");
        }

        if (string.IsNullOrWhiteSpace(spec.Criteria) && string.IsNullOrWhiteSpace(spec.Prompt))
        {
            throw invalid("it needs Criteria, or a Prompt with {OUTPUT} (and optionally {PROMPT}) placeholders.");
        }

        if (spec.Prompt is { } prompt && !prompt.Contains("{OUTPUT}", StringComparison.Ordinal))
        {
            throw invalid("its Prompt has no {OUTPUT} placeholder, so the judge would not see the answer.");
        }

        try
        {
            if (spec.MockResponse is null)
            {
                (_model, _provider) = providers.Resolve(spec.Model);
            }
            else
            {
                _model = ModelId.Parse(spec.Model, providers.Names);
            }
        }
        catch (LlmTasksException e)
        {
            throw invalid($"its Model is not usable: {e.Message}");
        }
    }

    public CheckSpec Spec { get; }

    /// <summary>
    /// The task's -ApiKey goes to the judge only when the judge uses the task's own provider: a key is
    /// never sent to another service (an OpenAI key to Anthropic, say). Other judges use their environment.
    /// </summary>
    private TaskSecrets? SecretsFor(CheckContext context) =>
        context.Task is { } task && string.Equals(task.Model.Split('/')[0], _model.Provider, StringComparison.OrdinalIgnoreCase)
            ? context.Environment.Secrets
            : null;

    public async Task<CheckVerdict> RunAsync(CheckContext context)
    {
        var text = BuildPrompt(context.Output, context.Prompt);
        var request = new LlmTaskRequest
        {
            Model = Spec.Model!,
            Messages = [new LlmMessage(LlmRole.System, "You judge answers strictly. Reply only with JSON: {\"passed\": true|false, \"reasoning\": \"…\"}."), new LlmMessage(LlmRole.User, text)],
            MockResponse = Spec.MockResponse,
            JsonSchema = VerdictSchema,
        };
        var clock = Stopwatch.StartNew();
        var startedAt = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        ChatResponse response;
        using (var client = Spec.MockResponse is { } fixedText
                   ? MockChatClient.Respond(fixedText)
                   : _provider!.CreateClient(_model, new ProviderCallContext(context.Task?.Id ?? 0, request, SecretsFor(context))))
        {
            var options = new ChatOptions { ModelId = _model.Model, ResponseFormat = ChatResponseFormat.ForJsonSchema(JsonDocument.Parse(VerdictSchema).RootElement.Clone(), "verdict") };
            response = await client.GetResponseAsync(request.Messages.Select(m => new ChatMessage(m.Role == LlmRole.System ? ChatRole.System : ChatRole.User, m.Content)).ToList(),
                options, context.CancellationToken).ConfigureAwait(false);
        }

        var cost = response.AdditionalProperties?.TryGetValue(ResponseProperties.CostUsd, out var c) == true ? Convert.ToDecimal(c, CultureInfo.InvariantCulture) : (decimal?)null;
        var verdict = ReadVerdict(response.Text, out var problem);
        var attempt = new AttemptRecord
        {
            Outcome = verdict is null ? LlmAttemptOutcome.Failed : LlmAttemptOutcome.Succeeded,
            StartedAtMs = startedAt,
            LatencyMs = clock.Elapsed.TotalMilliseconds,
            RequestJson = StoreJson.Serialize(request),
            Output = response.Text,
            Error = problem,
            ErrorKind = verdict is null ? "InvalidJudgeVerdict" : null,
            InputTokens = response.Usage?.InputTokenCount,
            OutputTokens = response.Usage?.OutputTokenCount,
            CostUsd = cost,
            DetailsJson = JsonSerializer.Serialize(new Dictionary<string, object?> { ["judge"] = true, ["check"] = Spec.Label }),
        };
        if (context.Environment.RecordJudgeCall is { } record)
        {
            await record(attempt).ConfigureAwait(false);
        }

        var details = JsonSerializer.Serialize(new Dictionary<string, object?>
        {
            ["model"] = Spec.Model, ["inputTokens"] = attempt.InputTokens, ["outputTokens"] = attempt.OutputTokens, ["costUsd"] = cost, ["verdict"] = response.Text,
        });
        if (verdict is not { } v)
        {
            return CheckVerdict.Fail($"The judge {Spec.Model} gave no usable verdict: {problem}", null, details);
        }

        return v.Passed
            ? new CheckVerdict(true, v.Reasoning, null, details)
            : CheckVerdict.Fail($"The judge {Spec.Model} says: {v.Reasoning}", Spec.Criteria is { } criteria ? $"Meet this: {criteria}" : "Address the judge's reasoning.", details);
    }

    private string BuildPrompt(string output, string? prompt) => Spec.Prompt is { } template
        ? template.Replace("{OUTPUT}", output, StringComparison.Ordinal).Replace("{PROMPT}", prompt ?? string.Empty, StringComparison.Ordinal)
        : $"""
          Judge whether the answer below meets the criteria.

          Criteria: {Spec.Criteria}

          The request was:
          {prompt}

          The answer was:
          {output}

          Reply only with JSON: {"{"}"passed": true or false, "reasoning": "one or two sentences"{"}"}.
          """;

    internal static (bool Passed, string Reasoning)? ReadVerdict(string? text, out string? problem)
    {
        if (!JsonText.TryParse(text ?? string.Empty, out var root, out problem))
        {
            return null;
        }

        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("passed", out var passed) || passed.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
        {
            problem = "the verdict has no boolean 'passed'.";
            return null;
        }

        var reasoning = root.TryGetProperty("reasoning", out var r) && r.ValueKind == JsonValueKind.String ? r.GetString()! : string.Empty;
        return (passed.GetBoolean(), reasoning);
    }
}

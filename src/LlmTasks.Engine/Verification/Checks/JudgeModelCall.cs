using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using LlmTasks.Providers;
using LlmTasks.Providers.Mock;
using LlmTasks.Storage;
using Microsoft.Extensions.AI;

namespace LlmTasks.Verification.Checks;

/// <summary>
/// The model call of the judging checks (Judge, Contradiction): one structured-output call to the spec's
/// Model (or its MockResponse, offline), kept as an attempt of the task it judges (usage, cost, the verdict
/// or why it was unusable). The task's -ApiKey goes along only to the task's own provider.
/// </summary>
internal sealed class JudgeModelCall
{
    private readonly CheckSpec _spec;
    private readonly ModelId _model;
    private readonly IChatClientProvider? _provider;

    public JudgeModelCall(CheckSpec spec, ProviderRegistry providers, Func<string, Exception> invalid)
    {
        _spec = spec;
        if (string.IsNullOrWhiteSpace(spec.Model))
        {
            throw invalid("it needs Model, the judging model (provider/model).");
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

    /// <summary>What the judge answered, and the usage facts for the check's Details.</summary>
    internal sealed record Answer(string? Text, Dictionary<string, object?> Details);

    /// <summary>
    /// Asks the judge. <paramref name="problemOf"/> reads the answer: null when it is a usable verdict, else
    /// why not (the attempt is then recorded as failed with ErrorKind InvalidJudgeVerdict).
    /// </summary>
    public async Task<Answer> AskAsync(CheckContext context, string system, string user, string schema, Func<string?, string?> problemOf)
    {
        var request = new LlmTaskRequest
        {
            Model = _spec.Model!,
            Messages = [new LlmMessage(LlmRole.System, system), new LlmMessage(LlmRole.User, user)],
            MockResponse = _spec.MockResponse,
            JsonSchema = schema,
        };
        var clock = Stopwatch.StartNew();
        var startedAt = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        ChatResponse response;
        using (var client = _spec.MockResponse is { } fixedText
                   ? MockChatClient.Respond(fixedText)
                   : _provider!.CreateClient(_model, new ProviderCallContext(context.Task?.Id ?? 0, request, SecretsFor(context))))
        {
            var options = new ChatOptions { ModelId = _model.Model, ResponseFormat = ChatResponseFormat.ForJsonSchema(JsonDocument.Parse(schema).RootElement.Clone(), "verdict") };
            response = await client.GetResponseAsync(request.Messages.Select(m => new ChatMessage(m.Role == LlmRole.System ? ChatRole.System : ChatRole.User, m.Content)).ToList(),
                options, context.CancellationToken).ConfigureAwait(false);
        }

        var cost = response.AdditionalProperties?.TryGetValue(ResponseProperties.CostUsd, out var c) == true ? Convert.ToDecimal(c, CultureInfo.InvariantCulture) : (decimal?)null;
        var problem = problemOf(response.Text);
        var attempt = new AttemptRecord
        {
            Outcome = problem is not null ? LlmAttemptOutcome.Failed : LlmAttemptOutcome.Succeeded,
            StartedAtMs = startedAt,
            LatencyMs = clock.Elapsed.TotalMilliseconds,
            RequestJson = StoreJson.Serialize(request),
            Output = response.Text,
            Error = problem,
            ErrorKind = problem is not null ? "InvalidJudgeVerdict" : null,
            InputTokens = response.Usage?.InputTokenCount,
            OutputTokens = response.Usage?.OutputTokenCount,
            CostUsd = cost,
            DetailsJson = JsonSerializer.Serialize(new Dictionary<string, object?> { ["judge"] = true, ["check"] = _spec.Label }),
        };
        if (context.Environment.RecordJudgeCall is { } record)
        {
            await record(attempt).ConfigureAwait(false);
        }

        return new Answer(response.Text, new Dictionary<string, object?>
        {
            ["model"] = _spec.Model, ["inputTokens"] = attempt.InputTokens, ["outputTokens"] = attempt.OutputTokens, ["costUsd"] = cost, ["verdict"] = response.Text,
        });
    }

    /// <summary>
    /// The task's -ApiKey goes to the judge only when the judge uses the task's own provider: a key is
    /// never sent to another service (an OpenAI key to Anthropic, say). Other judges use their environment.
    /// </summary>
    private TaskSecrets? SecretsFor(CheckContext context) =>
        context.Task is { } task && string.Equals(task.Model.Split('/')[0], _model.Provider, StringComparison.OrdinalIgnoreCase)
            ? context.Environment.Secrets
            : null;
}

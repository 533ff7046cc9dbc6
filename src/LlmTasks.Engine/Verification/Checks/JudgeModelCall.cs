using System.Text.Json.Nodes;
using LlmTasks.Execution;
using LlmTasks.Execution.Pipeline;
using LlmTasks.Providers;
using LlmTasks.Providers.Mock;
using LlmTasks.Storage;
using Microsoft.Extensions.AI;

namespace LlmTasks.Verification.Checks;

/// <summary>
/// The model call of the judging checks (Judge, Contradiction): one structured-output call to the spec's Model (or its
/// MockResponse, offline) through the same pipeline as every task call (<see cref="ModelPipeline"/>): transient
/// failures are retried, and each try is an attempt row of the task it judges, with its tokens and cost. A judge that
/// still cannot be called is no verdict on the answer: <see cref="CheckInfrastructureException"/> (JudgeUnavailable),
/// never a failed check. The task's -ApiKey goes along only to the task's own provider.
/// </summary>
internal sealed class JudgeModelCall
{
    private readonly CheckSpec _spec;
    private readonly ModelId _model;
    private readonly IChatClientProvider? _provider;

    public JudgeModelCall(CheckSpec spec, ProviderRegistry providers, Func<string, Exception> invalid, bool isNew = true)
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
                (_model, _provider) = providers.Resolve(spec.Model, isNew);
            }
            else
            {
                _model = providers.ParseKnown(spec.Model, isNew);
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
    /// Asks the judge. <paramref name="problemOf"/> reads the answer: null when it is a usable verdict, else why not (the
    /// attempt is then recorded as failed with ErrorKind InvalidJudgeVerdict). Throws <see cref="CheckInfrastructureException"/>
    /// when the judge's model could not be called (after the retries): the check then has no verdict.
    /// </summary>
    public async Task<Answer> AskAsync(CheckContext context, string system, string user, string schema, Func<string?, string?> problemOf)
    {
        var request = new LlmTaskRequest
        {
            Model = _model.ToString(),
            Messages = [new LlmMessage(LlmRole.System, system), new LlmMessage(LlmRole.User, user)],
            MockResponse = _spec.MockResponse,
            JsonSchema = schema,
        };
        var environment = context.Environment;
        var secrets = SecretsFor(context);
        var scope = new CallScope
        {
            Request = request,
            RequestJson = StoreJson.Serialize(request),
            Model = _model,
            TaskId = context.Task?.Id ?? 0,
            Store = environment.Store,
            Secrets = secrets,
            Retry = environment.Retry,
            RecordTry = environment.RecordJudgeCall,
            Streaming = false, // a verdict is read whole
            Purpose = "judge",
            Details = new Dictionary<string, JsonNode?> { ["judge"] = true, ["check"] = _spec.Label },
            StartedAtMs = environment.Retry.TimeProvider.GetUtcNow().ToUnixTimeMilliseconds(),
            Spend = environment.Spend,
        };

        ChatResponse response;
        try
        {
            var provider = _spec.MockResponse is { } fixedText
                ? MockChatClient.Respond(fixedText)
                : _provider!.CreateClient(_model, new ProviderCallContext(context.Task?.Id ?? 0, request, secrets));
            using var client = ModelPipeline.Build(provider, scope);
            var options = ChatMapping.ToOptions(request, _model.Model, "verdict");
            response = await client.GetResponseAsync(ChatMapping.ToChat(request.Messages), options, context.CancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException && !context.CancellationToken.IsCancellationRequested)
        {
            var failure = CallErrors.Classify(e, scope.Time, context.CancellationToken);
            var gaveUp = failure.Transient && scope.Tries > 1 ? $" (gave up after {scope.Tries} tries)" : string.Empty;
            var row = scope.Failed(failure with { Message = failure.Message + gaveUp }, null);
            if (failure.Kind == CallErrors.CostLimitKind)
            {
                // Not called: the task's -MaxCostUsd does not leave room for the judge. The task ends Failed with that kind, its answer kept.
                Diagnostics.Narration.CallFinished(scope, row);
                throw new CheckInfrastructureException(CallErrors.CostLimitKind, $"The judge {_spec.Model} was not called: {row.Error}", e);
            }

            await Record(environment, row).ConfigureAwait(false);
            Diagnostics.Narration.CallFinished(scope, row);
            throw new CheckInfrastructureException(CheckInfrastructureException.JudgeUnavailable,
                $"The judge {_spec.Model} could not be called ({failure.Kind}): {row.Error}", e);
        }

        var problem = problemOf(response.Text);
        var attempt = scope.Succeeded(response);
        if (problem is not null)
        {
            attempt = attempt with { Outcome = LlmAttemptOutcome.Failed, Error = problem, ErrorKind = "InvalidJudgeVerdict" };
        }

        await Record(environment, attempt).ConfigureAwait(false);
        Diagnostics.Narration.CallFinished(scope, attempt);

        return new Answer(response.Text, new Dictionary<string, object?>
        {
            ["model"] = _spec.Model, ["inputTokens"] = attempt.InputTokens, ["outputTokens"] = attempt.OutputTokens, ["costUsd"] = attempt.CostUsd, ["verdict"] = response.Text,
            ["tries"] = scope.Tries,
        });
    }

    private static async Task Record(VerificationEnvironment environment, AttemptRecord attempt)
    {
        if (environment.RecordJudgeCall is { } record)
        {
            await record(attempt).ConfigureAwait(false);
        }
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

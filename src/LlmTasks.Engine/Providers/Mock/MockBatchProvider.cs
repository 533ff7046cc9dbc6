using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Serialization;
using LlmTasks.Batches;
using LlmTasks.Configuration;

namespace LlmTasks.Providers.Mock;

/// <summary>
/// The offline batch provider (mock/* models, and any task with -MockResponse, with -AsBatch). It behaves as a real
/// batch API does, without a network: a batch is a file in a folder of its own (the "provider's side",
/// $env:LLMTASKS_MOCK_BATCH_DIR, default a folder in the temp directory), named by its batch id, so any process can
/// look at it, collect it or cancel it by id, also after the process that sent it died. Its requests are answered
/// one after another over $env:LLMTASKS_MOCK_BATCH_SECONDS (default 3 s) from when it was sent, as mock/* answers
/// live calls (mock/echo echoes, mock/fail fails, mock/sequence and -MockResponse give their texts); a batch not
/// done within $env:LLMTASKS_MOCK_BATCH_WINDOW_SECONDS (default 24 h) expires with what was done by then.
/// </summary>
public sealed class MockBatchProvider : IBatchProvider
{
    public const string FolderVariable = "LLMTASKS_MOCK_BATCH_DIR";
    public const string DelayVariable = "LLMTASKS_MOCK_BATCH_SECONDS";
    public const string WindowVariable = "LLMTASKS_MOCK_BATCH_WINDOW_SECONDS";

    private readonly EngineEnvironment _environment;

    public MockBatchProvider(EngineEnvironment? environment = null) => _environment = environment ?? EngineEnvironment.Process;

    public static MockBatchProvider Instance { get; } = new();

    /// <summary>As OpenAI's: 50,000 requests, 200 MB.</summary>
    public BatchLimits Limits => BatchLimits.OpenAI;

    private string Folder => _environment.Raw(FolderVariable) ?? Path.Combine(Path.GetTempPath(), "llmtasks-mock-batches");

    public Task<BatchStatus> SubmitAsync(BatchContext context, IReadOnlyList<BatchRequest> requests, CancellationToken cancellationToken)
    {
        var delay = _environment.Number(DelayVariable, 0, 7 * 24 * 3600, "3") ?? 3;
        var window = _environment.Number(WindowVariable, 0, 7 * 24 * 3600, "86400") ?? 86400;
        var file = new MockBatchFile
        {
            Id = "mockbatch_" + Guid.NewGuid().ToString("N"),
            CreatedMs = context.Time.GetUtcNow().ToUnixTimeMilliseconds(),
            DelayMs = (long)(delay * 1000),
            WindowMs = (long)(window * 1000),
            Requests = requests.Select(r => Answer(context.Model, r)).ToArray(),
        };
        Directory.CreateDirectory(Folder);
        Save(file);
        return Task.FromResult(Status(file, context.Time));
    }

    public Task<BatchStatus> GetAsync(BatchContext context, string batchId, CancellationToken cancellationToken) =>
        Task.FromResult(Status(Load(batchId), context.Time));

    public async IAsyncEnumerable<BatchResult> ResultsAsync(BatchContext context, BatchStatus status, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var file = Load(status.BatchId);
        var done = Done(file, context.Time);
        // Unordered, as the providers' results are: the engine matches them by custom id.
        foreach (var request in file.Requests.Take(done).Reverse())
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return new BatchResult
            {
                CustomId = request.CustomId,
                Succeeded = request.Error is null,
                Output = request.Output,
                InputTokens = request.Error is null ? request.InputTokens : null,
                OutputTokens = request.Error is null ? request.OutputTokens : null,
                Error = request.Error,
                ErrorKind = request.Error is null ? null : "ProviderError",
                DetailsJson = JsonSerializer.Serialize(new Dictionary<string, string> { ["mockBatch"] = file.Id }),
            };
        }

        await Task.CompletedTask.ConfigureAwait(false);
    }

    public Task<BatchStatus> CancelAsync(BatchContext context, string batchId, CancellationToken cancellationToken)
    {
        var file = Load(batchId);
        if (file.CancelledMs is null && Done(file, context.Time) < file.Requests.Length)
        {
            file.CancelledMs = context.Time.GetUtcNow().ToUnixTimeMilliseconds();
            Save(file);
        }

        return Task.FromResult(Status(file, context.Time));
    }

    /// <summary>The answer a mock model gives the request, worked out when the batch is sent (the provider's side keeps it).</summary>
    private static MockBatchLine Answer(ModelId model, BatchRequest request)
    {
        var behaviour = request.Request.MockResponse is { } text ? MockBehaviour.Respond(text) : MockProvider.Behaviour(model);
        if (behaviour.IsSequence)
        {
            behaviour = behaviour.Next(request.Request);
        }

        var input = request.Request.Messages.Sum(m => m.Content.Length);
        if (behaviour.Fails)
        {
            return new MockBatchLine { CustomId = request.CustomId, Error = "mock/fail: the mock provider fails every request, as asked." };
        }

        var output = behaviour.FixedResponse ?? request.Request.Messages.LastOrDefault(m => m.Role == LlmRole.User)?.Content ?? string.Empty;
        return new MockBatchLine
        {
            CustomId = request.CustomId,
            Output = output,
            InputTokens = Math.Max(1, (input + 3) / 4),
            OutputTokens = Math.Max(1, (output.Length + 3) / 4),
        };
    }

    /// <summary>How many of its requests are answered now: one after another over the delay, none after a cancel or the window.</summary>
    private static int Done(MockBatchFile file, TimeProvider time)
    {
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        var until = Math.Min(now, Math.Min(file.CancelledMs ?? long.MaxValue, file.CreatedMs + file.WindowMs));
        var elapsed = until - file.CreatedMs;
        var count = file.Requests.Length;
        if (file.DelayMs <= 0 || elapsed >= file.DelayMs)
        {
            return count;
        }

        return elapsed <= 0 ? 0 : (int)Math.Min(count, elapsed * count / file.DelayMs);
    }

    private static BatchStatus Status(MockBatchFile file, TimeProvider time)
    {
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        var done = Done(file, time);
        var failed = file.Requests.Take(done).Count(r => r.Error is not null);
        var all = done == file.Requests.Length;
        var (state, word) = all ? (LlmBatchState.Completed, "completed")
            : file.CancelledMs is not null ? (LlmBatchState.Cancelled, "cancelled")
            : now >= file.CreatedMs + file.WindowMs ? (LlmBatchState.Expired, "expired")
            : (LlmBatchState.InProgress, "in_progress");
        return new BatchStatus
        {
            BatchId = file.Id,
            State = state,
            ProviderStatus = word,
            Total = file.Requests.Length,
            Completed = done - failed,
            Failed = failed,
            ExpiresAt = DateTimeOffset.FromUnixTimeMilliseconds(file.CreatedMs + file.WindowMs),
        };
    }

    private string PathOf(string batchId)
    {
        if (batchId.Length == 0 || batchId.IndexOfAny(['/', '\\', '.']) >= 0)
        {
            throw new MockProviderException($"'{batchId}' is not a mock batch id.");
        }

        return Path.Combine(Folder, batchId + ".json");
    }

    private MockBatchFile Load(string batchId)
    {
        var path = PathOf(batchId);
        if (!File.Exists(path))
        {
            throw new MockProviderException($"The mock batch provider has no batch '{batchId}' (in '{Folder}'; $env:{FolderVariable} names the folder).");
        }

        return JsonSerializer.Deserialize(File.ReadAllText(path), MockBatchJson.Default.MockBatchFile)
            ?? throw new MockProviderException($"The mock batch '{batchId}' is empty.");
    }

    private void Save(MockBatchFile file)
    {
        var path = PathOf(file.Id);
        var temporary = path + "." + Guid.NewGuid().ToString("N") + ".tmp";
        File.WriteAllText(temporary, JsonSerializer.Serialize(file, MockBatchJson.Default.MockBatchFile));
        File.Move(temporary, path, overwrite: true);
    }
}

internal sealed class MockBatchFile
{
    public required string Id { get; init; }
    public long CreatedMs { get; init; }
    public long DelayMs { get; init; }
    public long WindowMs { get; init; }
    public long? CancelledMs { get; set; }
    public required MockBatchLine[] Requests { get; init; }
}

internal sealed class MockBatchLine
{
    public required string CustomId { get; init; }
    public string? Output { get; init; }
    public string? Error { get; init; }
    public long InputTokens { get; init; }
    public long OutputTokens { get; init; }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(MockBatchFile))]
internal sealed partial class MockBatchJson : JsonSerializerContext;

using LlmTasks.Execution;
using LlmTasks.Providers;
using LlmTasks.Providers.Anthropic;
using LlmTasks.Providers.Azure;
using LlmTasks.Providers.Http;
using LlmTasks.Providers.OpenAICompatible;
using LlmTasks.Tests.Doubles;

namespace LlmTasks.Tests.Http;

/// <summary>A task manager whose HTTP providers read a private environment, with quick retries, plus a loopback server.</summary>
public sealed class HttpHarness : IDisposable
{
    public const string Key = "sk-test-0123456789abcdef";

    private readonly TempStore _temp = new();

    public HttpHarness(RetryOptions? retry = null, Dictionary<string, string>? environment = null, Func<TaskManagerOptions, TaskManagerOptions>? options = null)
    {
        Environment = environment ?? new Dictionary<string, string>();
        var lookup = new ProviderEnvironment(name => Environment.TryGetValue(name, out var value) ? value : null);
        IChatClientProvider[] providers =
        [
            .. OpenAICompatibleEndpoint.All.Select(e => new OpenAICompatibleProvider(e, lookup)),
            new AzureOpenAIProvider(lookup),
            new AnthropicProvider(lookup),
        ];
        Retry = retry ?? new RetryOptions { MaxRetries = 3, BaseDelay = TimeSpan.FromMilliseconds(20), MaxDelay = TimeSpan.FromSeconds(2), AttemptTimeout = TimeSpan.FromSeconds(30) };
        Manager = Managers.Open(_temp.Path, (options ?? (o => o))(new TaskManagerOptions { Retry = Retry }), providers);
    }

    public Dictionary<string, string> Environment { get; }
    public string StorePath => _temp.Path;
    public RetryOptions Retry { get; }
    public LoopbackServer Server { get; } = new();
    public TaskManager Manager { get; }

    /// <summary>Starts one task against the loopback server (-ApiBase) with the test key (-ApiKey), and waits for it.</summary>
    public LlmTask Run(LlmTaskRequest request, string? apiBase = null, string? key = Key)
    {
        var task = Manager.Start(request with { ApiBase = apiBase ?? request.ApiBase }, key is null ? null : new TaskSecrets(key));
        return Managers.WaitAll(Manager, [task.Id]).Single();
    }

    public IReadOnlyList<LlmAttempt> Attempts(LlmTask task) => Manager.Store.GetAttempts(task.Id);

    public static LlmTaskRequest Conversation(string model) => new()
    {
        Model = model,
        Messages =
        [
            new LlmMessage(LlmRole.System, "You are terse."),
            new LlmMessage(LlmRole.User, "Hi, what is 2+2?"),
            new LlmMessage(LlmRole.Assistant, "4."),
            new LlmMessage(LlmRole.User, "And 3+3?"),
        ],
        Temperature = 0.2,
        MaxTokens = 50,
        StopSequences = ["END"],
    };

    public void Dispose()
    {
        Manager.Dispose();
        Server.Dispose();
        _temp.Dispose();
    }
}

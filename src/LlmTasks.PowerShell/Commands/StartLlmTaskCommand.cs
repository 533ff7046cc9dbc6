using System.Collections;
using System.Management.Automation;
using System.Globalization;
using System.Net;
using System.Security;
using LlmTasks.Providers;
using LlmTasks.Execution;
using LlmTasks.PowerShell.Internal;

namespace LlmTasks.PowerShell.Commands;

/// <summary>
/// Starts model calls as durable tasks. Each piped prompt is one task; the task object is written
/// at once (use -Wait to get the finished task instead).
/// </summary>
[Cmdlet(VerbsLifecycle.Start, "LlmTask", DefaultParameterSetName = PromptSet)]
[OutputType(typeof(LlmTask))]
public sealed class StartLlmTaskCommand : LlmTaskCommandBase
{
    private const string PromptSet = "Prompt";
    private const string MessagesSet = "Messages";
    public const string DefaultModelVariable = "LLMTASKS_DEFAULT_MODEL";

    private readonly List<LlmTask> _started = [];
    private TaskManager? _manager;

    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ParameterSetName = PromptSet)]
    [AllowEmptyString]
    public string Prompt { get; set; } = string.Empty;

    /// <summary>The conversation: hashtables with role (system, user, assistant) and content.</summary>
    [Parameter(Mandatory = true, ParameterSetName = MessagesSet)]
    [ValidateNotNullOrEmpty]
    public Hashtable[] Messages { get; set; } = [];

    /// <summary>provider/model, e.g. openai/gpt-4o-mini or mock/echo; default $env:LLMTASKS_DEFAULT_MODEL.</summary>
    [Parameter]
    [ArgumentCompleter(typeof(Completers.ModelCompleter))]
    public string? Model { get; set; }

    [Parameter]
    public string? System { get; set; }

    [Parameter]
    public string? Name { get; set; }

    [Parameter]
    public double? Temperature { get; set; }

    [Parameter]
    public int? MaxTokens { get; set; }

    /// <summary>Time allowed for each model call, in seconds.</summary>
    [Parameter]
    public double? TimeoutSec { get; set; }

    /// <summary>Answer with this text, offline, whatever the model (LiteLLM's mock_response).</summary>
    [Parameter]
    public string? MockResponse { get; set; }

    /// <summary>Text at which the model stops writing.</summary>
    [Parameter]
    [Alias("Stop")]
    [ValidateNotNullOrEmpty]
    public string[]? StopSequence { get; set; }

    /// <summary>Ask for JSON; the parsed answer becomes the task's structured result.</summary>
    /// <remarks>A string, not the engine's enum: see <see cref="EngineLoadContext"/> on engine value types in cmdlet classes.</remarks>
    [Parameter]
    [ValidateSet("Text", "Json")]
    public string ResponseFormat { get; set; } = "Text";

    /// <summary>A JSON schema the answer must follow: JSON text, a hashtable, or the path of a .json file.</summary>
    [Parameter]
    [ValidateNotNull]
    public object? JsonSchema { get; set; }

    /// <summary>The provider's base URL for this task (over its environment variable).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? ApiBase { get; set; }

    /// <summary>The API key for this task: kept in this session's memory only, never stored or shown.</summary>
    [Parameter]
    [ValidateNotNull]
    public SecureString? ApiKey { get; set; }

    /// <summary>max/*: an MCP configuration for the Claude Code CLI, as a path or a hashtable ({ mcpServers = @{ … } }).</summary>
    [Parameter]
    [ValidateNotNull]
    public object? McpConfig { get; set; }

    /// <summary>max/*: tools the CLI may use without asking (mcp__server__tool names).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string[]? AllowedTools { get; set; }

    /// <summary>max/*: the CLI's working directory (MCP file servers are scoped to it).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? WorkingDirectory { get; set; }

    /// <summary>max/*: the most agent turns the CLI may take.</summary>
    [Parameter]
    [ValidateRange(1, 1000)]
    public int MaxTurns { get; set; }

    /// <summary>Model calls at once in this session (sticky, as ThreadJob's is); default 8.</summary>
    [Parameter]
    [ValidateRange(1, 1024)]
    public int ThrottleLimit { get; set; }

    /// <summary>Wait for the tasks and write them finished, in input order.</summary>
    [Parameter]
    public SwitchParameter Wait { get; set; }

    protected override void BeginProcessing()
    {
        if (MyInvocation.BoundParameters.ContainsKey(nameof(ThrottleLimit)))
        {
            TaskManagers.SetConcurrency(ThrottleLimit);
        }

        _manager = Manager();
    }

    protected override void ProcessRecord()
    {
        LlmTaskRequest request;
        try
        {
            request = BuildRequest();
        }
        catch (LlmTasksException e)
        {
            WriteError(e);
            return;
        }

        try
        {
            var task = _manager!.Start(request, ApiKey is null ? null : new TaskSecrets(new NetworkCredential(string.Empty, ApiKey).Password));
            if (Wait)
            {
                _started.Add(task);
            }
            else
            {
                WriteObject(task);
            }
        }
        catch (LlmTasksException e)
        {
            WriteError(e);
        }
    }

    protected override void EndProcessing()
    {
        if (!Wait || _started.Count == 0)
        {
            return;
        }

        // Write each task as soon as it and every task before it have finished: input order, streamed.
        var finished = new Dictionary<long, LlmTask>();
        var next = 0;
        using var waiter = new TaskWaiter(this, _manager!, _started.Select(t => t.Id).ToArray(), "Waiting for LLM tasks");
        foreach (var e in waiter.Finished(Timeout.InfiniteTimeSpan, PipelineStopping))
        {
            if (e.Task is null)
            {
                WriteError(ErrorRecords.Create(ErrorRecords.Removed, ErrorCategory.ObjectNotFound,
                    $"Task {e.Id} was removed from the store while waiting for it.", e.Id));
                _started.RemoveAll(t => t.Id == e.Id);
            }
            else
            {
                finished[e.Id] = e.Task;
            }

            while (next < _started.Count && finished.Remove(_started[next].Id, out var done))
            {
                WriteObject(done);
                next++;
            }
        }
    }

    private LlmTaskRequest BuildRequest()
    {
        var model = Model ?? Environment.GetEnvironmentVariable(DefaultModelVariable);
        if (string.IsNullOrWhiteSpace(model))
        {
            throw new LlmTasksException(ErrorRecords.NoModel, LlmErrorCategory.InvalidArgument,
                $"No model given: pass -Model provider/model (for example -Model mock/echo) or set ${DefaultModelVariable}.");
        }

        var messages = new List<LlmMessage>();
        if (!string.IsNullOrEmpty(System))
        {
            messages.Add(new LlmMessage(LlmRole.System, System));
        }

        if (ParameterSetName == MessagesSet)
        {
            messages.AddRange(Messages.Select(MessageFrom));
        }
        else
        {
            messages.Add(new LlmMessage(LlmRole.User, Prompt));
        }

        return new LlmTaskRequest
        {
            Model = model.Trim(),
            Messages = messages,
            Name = Name,
            Temperature = Temperature,
            MaxTokens = MaxTokens,
            TimeoutSec = TimeoutSec,
            MockResponse = MockResponse,
            StopSequences = StopSequence,
            ResponseFormat = Enum.Parse<LlmResponseFormat>(ResponseFormat, ignoreCase: true),
            JsonSchema = JsonSchema is null ? null : PowerShellJson.FromValue(JsonSchema, nameof(JsonSchema), ResolvePath),
            ApiBase = ApiBase,
            ProviderOptions = ProviderOptions(),
        };
    }

    /// <summary>The max/* options, as the Claude Code provider reads them (ProviderOptionNames).</summary>
    private Dictionary<string, string>? ProviderOptions()
    {
        var options = new Dictionary<string, string>(StringComparer.Ordinal);
        if (McpConfig is not null)
        {
            var value = McpConfig is PSObject wrapped ? wrapped.BaseObject : McpConfig;
            if (value is string path && !path.TrimStart().StartsWith('{'))
            {
                options[ProviderOptionNames.McpConfigPath] = ResolvePath(path); // read when the task runs
            }
            else
            {
                options[ProviderOptionNames.McpConfigJson] = PowerShellJson.FromValue(value, nameof(McpConfig), ResolvePath);
            }
        }

        if (AllowedTools is { Length: > 0 })
        {
            options[ProviderOptionNames.AllowedTools] = string.Join(',', AllowedTools);
        }

        if (WorkingDirectory is not null)
        {
            options[ProviderOptionNames.WorkingDirectory] = ResolvePath(WorkingDirectory);
        }

        if (MyInvocation.BoundParameters.ContainsKey(nameof(MaxTurns)))
        {
            options[ProviderOptionNames.MaxTurns] = MaxTurns.ToString(CultureInfo.InvariantCulture);
        }

        return options.Count == 0 ? null : options;
    }

    private string ResolvePath(string path) => SessionState.Path.GetUnresolvedProviderPathFromPSPath(path);

    private static LlmMessage MessageFrom(Hashtable message, int index)
    {
        string? Value(string key)
        {
            foreach (DictionaryEntry entry in message)
            {
                if (string.Equals(entry.Key?.ToString(), key, StringComparison.OrdinalIgnoreCase))
                {
                    return LanguagePrimitives.ConvertTo<string>(entry.Value);
                }
            }

            return null;
        }

        var role = Value("role");
        var content = Value("content");
        if (!Enum.TryParse<LlmRole>(role, ignoreCase: true, out var parsed) || !Enum.IsDefined(parsed) || int.TryParse(role, out _))
        {
            throw new LlmTasksException(ErrorIds.InvalidMessage, LlmErrorCategory.InvalidArgument,
                $"Message {index + 1} has role '{role}': use system, user or assistant, as in @{{role='user'; content='…'}}.") { Target = message };
        }

        if (content is null)
        {
            throw new LlmTasksException(ErrorIds.InvalidMessage, LlmErrorCategory.InvalidArgument,
                $"Message {index + 1} has no content: write it as @{{role='{role}'; content='…'}}.") { Target = message };
        }

        return new LlmMessage(parsed, content);
    }
}

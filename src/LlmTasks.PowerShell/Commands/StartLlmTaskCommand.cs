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
    private readonly OrderedStarts _starts = new();
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

    /// <summary>
    /// Answer with this text, offline, whatever the model (LiteLLM's mock_response). Several values
    /// with -Model mock/sequence: one answer per attempt (for -Verify -MaxAttempts), the last repeats.
    /// </summary>
    [Parameter]
    public string[]? MockResponse { get; set; }

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
    [SecureStringTransformation]
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

    /// <summary>What the output must pass: hashtables (@{ Type = 'JsonSchema'; Schema = … }) and script blocks { param($Output, $Task) … }.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public object[]? Verify { get; set; }

    /// <summary>Model calls that may be made to get an output that passes -Verify (re-asking with the reasons); default 1.</summary>
    [Parameter]
    [ValidateRange(1, 100)]
    public int MaxAttempts { get; set; } = 1;

    /// <summary>After this many failed attempts the task ends NeedsReview (default: -MaxAttempts).</summary>
    [Parameter]
    [ValidateRange(1, 100)]
    public int ReviewAfterAttempts { get; set; }

    /// <summary>From attempt K+1 on, add -ToolMcpConfig and -ToolHint.</summary>
    [Parameter]
    [ValidateRange(1, 100)]
    public int ToolAfterAttempts { get; set; }

    /// <summary>The MCP configuration (path or hashtable) added from attempt -ToolAfterAttempts + 1 on.</summary>
    [Parameter]
    [ValidateNotNull]
    public object? ToolMcpConfig { get; set; }

    /// <summary>A hint added to the feedback from attempt -ToolAfterAttempts + 1 on.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? ToolHint { get; set; }

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
        try
        {
            _plan = BuildPlan();
            if (_plan is not null)
            {
                Verification.CheckFactory.Validate(_plan, _manager.Providers); // before any task is stored or any call made
            }
        }
        catch (LlmTasksException e)
        {
            ThrowTerminatingError(ErrorRecords.From(e));
        }
    }

    private Verification.VerificationPlan? _plan;

    private Verification.VerificationPlan? BuildPlan()
    {
        var bound = MyInvocation.BoundParameters;
        if (Verify is null)
        {
            var needs = new[] { nameof(MaxAttempts), nameof(ReviewAfterAttempts), nameof(ToolAfterAttempts), nameof(ToolMcpConfig), nameof(ToolHint) }.FirstOrDefault(bound.ContainsKey);
            if (needs is not null)
            {
                throw new LlmTasksException(ErrorIds.InvalidVerification, LlmErrorCategory.InvalidArgument,
                    $"-{needs} needs -Verify: say what a good answer is, for example -Verify @{{ Type = 'NotEmpty' }}.");
            }

            return null;
        }

        if (bound.ContainsKey(nameof(ToolAfterAttempts)) != (bound.ContainsKey(nameof(ToolMcpConfig)) || bound.ContainsKey(nameof(ToolHint))))
        {
            throw new LlmTasksException(ErrorIds.InvalidVerification, LlmErrorCategory.InvalidArgument,
                "-ToolAfterAttempts goes with -ToolMcpConfig and/or -ToolHint: give both.");
        }

        var toolOptions = ToolMcpConfig is null ? null : new Dictionary<string, string>([McpConfigValue.ToOption(ToolMcpConfig, nameof(ToolMcpConfig), ResolvePath)]);

        return new Verification.VerificationPlan
        {
            Checks = VerifySpec.Convert(Verify, ResolvePath),
            MaxAttempts = MaxAttempts,
            ReviewAfterAttempts = bound.ContainsKey(nameof(ReviewAfterAttempts)) ? ReviewAfterAttempts : null,
            ToolAfterAttempts = bound.ContainsKey(nameof(ToolAfterAttempts)) ? ToolAfterAttempts : null,
            ToolOptions = toolOptions,
            ToolHint = ToolHint,
        };
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

        bool slowInput;
        try
        {
            slowInput = _starts.Add(_manager!.StartAsync(request, ApiKey is null ? null : new TaskSecrets(new NetworkCredential(string.Empty, ApiKey).Password)));
        }
        catch (LlmTasksException e)
        {
            WriteError(e); // refused before anything was stored
            return;
        }

        WriteStarted(waitForAll: slowInput);
    }

    private void WriteStarted(bool waitForAll)
    {
        try
        {
            foreach (var (task, error) in _starts.TakeReady(waitForAll, PipelineStopping))
            {
                if (error is not null)
                {
                    WriteError(error);
                }
                else if (Wait)
                {
                    _started.Add(task!);
                }
                else
                {
                    WriteObject(task);
                }
            }

            FlushEngineEvents();
        }
        catch (OperationCanceledException) when (PipelineStopping.IsCancellationRequested)
        {
            throw new PipelineStoppedException();
        }
    }

    protected override void EndProcessing()
    {
        WriteStarted(waitForAll: true);
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

        FlushEngineEvents();
    }

    private LlmTaskRequest BuildRequest()
    {
        var model = Model ?? Environment.GetEnvironmentVariable(DefaultModelVariable);
        if (string.IsNullOrWhiteSpace(model))
        {
            throw new LlmTasksException(ErrorRecords.NoModel, LlmErrorCategory.InvalidArgument,
                $"No model given: pass -Model provider/model (for example -Model mock/echo) or set $env:{DefaultModelVariable}.");
        }

        var messages = new List<LlmMessage>();
        if (!string.IsNullOrEmpty(System))
        {
            messages.Add(new LlmMessage(LlmRole.System, System));
        }

        if (ParameterSetName == MessagesSet)
        {
            messages.AddRange(Messages.Select(MessageHashtable.ToMessage));
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
            MockResponse = MockResponse is { Length: 1 } single ? single[0] : null,
            StopSequences = StopSequence,
            ResponseFormat = Enum.Parse<LlmResponseFormat>(ResponseFormat, ignoreCase: true),
            JsonSchema = JsonSchema is null ? null : PowerShellJson.FromValue(JsonSchema, nameof(JsonSchema), ResolvePath),
            ApiBase = ApiBase,
            ApiKeyGiven = ApiKey is not null,
            ProviderOptions = ProviderOptions(),
            Verification = _plan,
        };
    }

    /// <summary>The max/* options, as the Claude Code provider reads them (ProviderOptionNames).</summary>
    private Dictionary<string, string>? ProviderOptions()
    {
        var options = new Dictionary<string, string>(StringComparer.Ordinal);
        if (McpConfig is not null)
        {
            var (key, value) = McpConfigValue.ToOption(McpConfig, nameof(McpConfig), ResolvePath);
            options[key] = value;
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

        if (MockResponse is { Length: > 1 })
        {
            if (!string.Equals(Model ?? Environment.GetEnvironmentVariable(DefaultModelVariable), "mock/sequence", StringComparison.OrdinalIgnoreCase))
            {
                throw new LlmTasksException(ErrorIds.InvalidOption, LlmErrorCategory.InvalidArgument,
                    "Several -MockResponse values (one per attempt) need -Model mock/sequence.");
            }

            options[Providers.Mock.MockProvider.SequenceOption] = global::System.Text.Json.JsonSerializer.Serialize(MockResponse);
        }

        return options.Count == 0 ? null : options;
    }

    private string ResolvePath(string path) => SessionState.Path.GetUnresolvedProviderPathFromPSPath(path);
}

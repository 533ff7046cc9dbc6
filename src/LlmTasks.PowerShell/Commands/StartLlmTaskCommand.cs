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
/// Starts model calls as durable tasks, one per prompt: piped strings, -Prompt values, or piped objects
/// (Import-Csv rows, ConvertFrom-Json objects, [pscustomobject]s, hashtables) whose Prompt, Messages,
/// Model, Name, System and other options bind by property name. A finished task piped with -Continue
/// starts the next turn of its conversation. The task objects are written at once (-Wait: finished, in input order).
/// </summary>
[Cmdlet(VerbsLifecycle.Start, "LlmTask")]
[OutputType(typeof(LlmTask))]
public sealed class StartLlmTaskCommand : LlmTaskCommandBase
{
    public const string DefaultModelVariable = RequestOptions.DefaultModelVariable;

    private readonly List<(TaskManager Manager, LlmTask Task)> _started = [];
    private readonly Dictionary<string, TaskManager> _managers = new(StringComparer.Ordinal);
    private readonly OrderedStarts _starts = new();
    private HashSet<string> _commandLine = [];
    private TaskManager? _manager;

    /// <summary>
    /// What is piped: a prompt (a string or number), an object whose properties bind by name (it needs a
    /// Prompt or Messages property), or, with -Continue, the task to continue.
    /// </summary>
    [Parameter(ValueFromPipeline = true)]
    public PSObject? InputObject { get; set; }

    /// <summary>The prompt(s): one task each. Piped strings and a Prompt property (a CSV column, a JSON field) bind here too.</summary>
    [Parameter(Position = 0)]
    [FromPipedObject]
    [AllowEmptyString]
    [AllowNull]
    [PromptText]
    public string[]? Prompt { get; set; }

    /// <summary>
    /// The conversation: hashtables or objects (ConvertFrom-Json) with role (system, user, assistant) and
    /// content. With -Prompt (or piped prompts) it is the conversation so far, and each prompt its last turn.
    /// </summary>
    [Parameter]
    [FromPipedObject]
    [BlankIsNotGiven]
    [AllowNull]
    public object[]? Messages { get; set; }

    /// <summary>provider/model, e.g. openai/gpt-4o-mini or mock/echo; default $env:LLMTASKS_DEFAULT_MODEL.</summary>
    [Parameter]
    [FromPipedObject]
    [BlankIsNotGiven]
    [ArgumentCompleter(typeof(Completers.ModelCompleter))]
    public string? Model { get; set; }

    [Parameter]
    [FromPipedObject]
    [BlankIsNotGiven]
    public string? System { get; set; }

    [Parameter]
    [FromPipedObject]
    [BlankIsNotGiven]
    public string? Name { get; set; }

    [Parameter]
    [FromPipedObject]
    [BlankIsNotGiven]
    public double? Temperature { get; set; }

    [Parameter]
    [FromPipedObject]
    [BlankIsNotGiven]
    public int? MaxTokens { get; set; }

    /// <summary>The most the task may cost, in US dollars (attempts, retries, fallbacks, re-asks and judge calls together).</summary>
    [Parameter]
    [FromPipedObject]
    [BlankIsNotGiven]
    public decimal? MaxCostUsd { get; set; }

    /// <summary>Time allowed for each model call, in seconds.</summary>
    [Parameter]
    [FromPipedObject]
    [BlankIsNotGiven]
    public double? TimeoutSec { get; set; }

    /// <summary>
    /// Answer with this text, offline, whatever the model (LiteLLM's mock_response). Several values
    /// with -Model mock/sequence: one answer per attempt (for -Verify -MaxAttempts), the last repeats.
    /// </summary>
    [Parameter]
    [FromPipedObject]
    [BlankIsNotGiven]
    public string[]? MockResponse { get; set; }

    /// <summary>Models tried in order when the call still fails after its retries with one of -FallbackOn's kinds.</summary>
    [Parameter]
    [FromPipedObject]
    [BlankIsNotGiven]
    [ArgumentCompleter(typeof(Completers.ModelCompleter))]
    public string[]? Fallback { get; set; }

    /// <summary>The error kinds that move a call to the next -Fallback model (default: RateLimited, Overloaded, ServerError, ContextTooLong).</summary>
    [Parameter]
    [FromPipedObject]
    [BlankIsNotGiven]
    [ValidateSet("RateLimited", "QuotaExceeded", "Overloaded", "ServerError", "ContextTooLong", "Timeout", "ConnectionFailed", "TruncatedStream",
        "NotFound", "AuthenticationFailed", "PermissionDenied", "InvalidResponse", "ResponseTooLarge", "ProviderError")]
    public string[]? FallbackOn { get; set; }

    /// <summary>Text at which the model stops writing.</summary>
    [Parameter]
    [FromPipedObject]
    [Alias("Stop")]
    [BlankIsNotGiven]
    public string[]? StopSequence { get; set; }

    /// <summary>Ask for JSON; the parsed answer becomes the task's structured result.</summary>
    /// <remarks>A string, not the engine's enum: see <see cref="EngineLoadContext"/> on engine value types in cmdlet classes.</remarks>
    [Parameter]
    [FromPipedObject]
    [BlankIsNotGiven]
    [ValidateSet("Text", "Json")]
    public string? ResponseFormat { get; set; }

    /// <summary>A JSON schema the answer must follow: JSON text, a hashtable, or the path of a .json file.</summary>
    [Parameter]
    [FromPipedObject]
    [BlankIsNotGiven]
    public object? JsonSchema { get; set; }

    /// <summary>
    /// The provider's base URL for this task (over its environment variable). A piped row's ApiBase gets
    /// the key of its model's provider: pipe only rows you trust, or give -ApiBase here (it wins).
    /// </summary>
    [Parameter]
    [FromPipedObject]
    [BlankIsNotGiven]
    public string? ApiBase { get; set; }

    /// <summary>The API key for this task: kept in this session's memory only, never stored or shown. Never taken from a piped object.</summary>
    [Parameter]
    [ValidateNotNull]
    [SecureStringTransformation]
    public SecureString? ApiKey { get; set; }

    /// <summary>max/*: an MCP configuration for the Claude Code CLI, as a path or a hashtable ({ mcpServers = @{ … } }).</summary>
    [Parameter]
    [FromPipedObject]
    [BlankIsNotGiven]
    public object? McpConfig { get; set; }

    /// <summary>max/*: tools the CLI may use without asking (mcp__server__tool names).</summary>
    [Parameter]
    [FromPipedObject]
    [BlankIsNotGiven]
    public string[]? AllowedTools { get; set; }

    /// <summary>max/*: the CLI's working directory (MCP file servers are scoped to it).</summary>
    [Parameter]
    [FromPipedObject]
    [BlankIsNotGiven]
    public string? WorkingDirectory { get; set; }

    /// <summary>max/*: the most agent turns the CLI may take (1 to 1000).</summary>
    [Parameter]
    [FromPipedObject]
    [BlankIsNotGiven]
    public int? MaxTurns { get; set; }

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

    /// <summary>
    /// Continue the conversation of the piped task (it must be Completed): the new task sends its messages,
    /// its output as the assistant's turn, then -Prompt (or -Messages), with its model and options unless given here.
    /// </summary>
    [Parameter]
    public SwitchParameter Continue { get; set; }

    /// <summary>Wait for the tasks and write them finished, in input order.</summary>
    [Parameter]
    public SwitchParameter Wait { get; set; }

    /// <summary>Wait (as -Wait does), writing each task's text to the host as it arrives; the finished tasks are written as with -Wait.</summary>
    [Parameter]
    public SwitchParameter Stream { get; set; }

    /// <summary>
    /// Send the tasks as provider batches (at the provider's batch price, answered within its window) instead of as calls
    /// of their own: the tasks started within the gathering window go as one batch per provider, model and endpoint.
    /// </summary>
    [Parameter]
    public SwitchParameter AsBatch { get; set; }

    /// <summary>
    /// With -AsBatch and -Verify: a batch answer that fails its checks is re-asked with live calls (at the live price,
    /// answered at once) rather than in a new batch (the default). Stored with the task.
    /// </summary>
    [Parameter]
    public SwitchParameter LiveReask { get; set; }

    private bool Waits => Wait || Stream;

    protected override void BeginProcessing()
    {
        // What the command line gave (with $PSDefaultParameterValues): pipeline input binds only after this.
        _commandLine = new HashSet<string>(MyInvocation.BoundParameters.Keys, StringComparer.OrdinalIgnoreCase);

        if (MyInvocation.BoundParameters.ContainsKey(nameof(ThrottleLimit)))
        {
            TaskManagers.SetConcurrency(ThrottleLimit);
        }

        if (AsBatch && Stream)
        {
            ThrowTerminatingError(ErrorRecords.From(new LlmTasksException(ErrorIds.BatchWithStream, LlmErrorCategory.InvalidArgument,
                "-AsBatch cannot be combined with -Stream: a batch's answers come whole, when the batch ends. Use -AsBatch -Wait to wait for them.")));
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
            var needs = new[] { nameof(MaxAttempts), nameof(ReviewAfterAttempts), nameof(ToolAfterAttempts), nameof(ToolMcpConfig), nameof(ToolHint), nameof(LiveReask) }.Where(p => p != nameof(LiveReask) || LiveReask).FirstOrDefault(bound.ContainsKey);
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

        if (LiveReask && !AsBatch)
        {
            throw new LlmTasksException(ErrorIds.LiveReaskWithoutBatch, LlmErrorCategory.InvalidArgument,
                "-LiveReask goes with -AsBatch: it makes the re-asks of batch answers live calls, and a task started without -AsBatch is re-asked live anyway. Add -AsBatch, or leave -LiveReask out.");
        }

        var toolOptions = ToolMcpConfig is null ? null : McpConfigValue.ToOption(ToolMcpConfig, nameof(ToolMcpConfig), ResolvePath);

        return new Verification.VerificationPlan
        {
            Checks = VerifySpec.Convert(Verify, ResolvePath),
            MaxAttempts = MaxAttempts,
            ReviewAfterAttempts = bound.ContainsKey(nameof(ReviewAfterAttempts)) ? ReviewAfterAttempts : null,
            ToolAfterAttempts = bound.ContainsKey(nameof(ToolAfterAttempts)) ? ToolAfterAttempts : null,
            ToolOptions = toolOptions,
            ToolHint = ToolHint,
            LiveReask = LiveReask,
        };
    }

    protected override void ProcessRecord()
    {
        PipedObjectBinding? fromObject = null;
        List<(TaskManager Manager, LlmTaskRequest Request)> requests;
        try
        {
            // A piped object's properties (a hashtable's keys) bind by name; text is a prompt and binds nothing.
            if (InputObject is not null && !Continue
                && (InputObject.BaseObject is IDictionary || (!ScalarText.TryGet(InputObject, out _) && !TaskReferences.IsTaskObject(InputObject))))
            {
                fromObject = PipedObjectBinding.Bind(this, InputObject, _commandLine);
            }

            requests = Continue ? Continuations() : NewRequests();
        }
        catch (LlmTasksException e)
        {
            WriteError(e); // refused before anything was stored
            return;
        }
        finally
        {
            fromObject?.Dispose();
        }

        var secrets = ApiKey is null ? null : new TaskSecrets(new NetworkCredential(string.Empty, ApiKey).Password);
        var slowInput = false;
        foreach (var (manager, request) in requests)
        {
            try
            {
                _managers.TryAdd(manager.StorePath, manager);
                slowInput |= _starts.Add(manager.StartAsync(request, secrets));
            }
            catch (LlmTasksException e)
            {
                WriteError(e); // refused before anything was stored
            }
        }

        WriteStarted(waitForAll: slowInput);
    }

    /// <summary>New tasks from this record: piped text or an object's properties, -Prompt, -Messages, and the options.</summary>
    private List<(TaskManager, LlmTaskRequest)> NewRequests()
    {
        var conversations = StartInput.Conversations(InputObject, Prompt, _commandLine.Contains(nameof(Prompt)), Messages, _commandLine.Contains(nameof(Messages)));
        var options = Options(commandLineOnly: false);
        return conversations.Select(c => (_manager!, options.NewRequest(c, _plan, ApiKey is not null, ResolvePath) with { Batch = AsBatch })).ToList();
    }

    /// <summary>
    /// -Continue: the piped task, read fresh from its store, continued with each -Prompt. Only the command
    /// line counts here: what bound by name from the piped task is that task's own (its old prompt).
    /// </summary>
    private List<(TaskManager, LlmTaskRequest)> Continuations()
    {
        var reference = InputObject is null || ScalarText.TryGet(InputObject, out _) ? null : TaskReferences.Read(InputObject, out _);
        if (reference is null)
        {
            throw new LlmTasksException(ErrorRecords.ContinueNeedsTask, LlmErrorCategory.InvalidArgument,
                InputObject is null
                    ? "-Continue continues a finished task: pipe it, as in Get-LlmTask 5 | Start-LlmTask -Continue -Prompt '…'."
                    : $"-Continue continues a finished task, and got a {ScalarText.TypeName(InputObject)} that is not one: pipe a task, as in Get-LlmTask 5 | Start-LlmTask -Continue -Prompt '…'.")
            { Target = InputObject };
        }

        var path = TaskReferences.StorePath(reference, ResolveStore);
        var source = path is null ? _manager! : Manager(path);
        var task = TaskReferences.Find(source, reference)
            ?? throw new LlmTasksException(ErrorRecords.NotFound, LlmErrorCategory.ObjectNotFound,
                $"No task with {reference.Describe()} in the store '{source.StorePath}'.") { Target = InputObject };
        var target = _commandLine.Contains(nameof(StorePath)) ? _manager! : source;
        var options = Options(commandLineOnly: true);
        var turns = StartInput.Turns(CommandLine(nameof(Prompt), Prompt), CommandLine(nameof(Messages), Messages));
        return turns.Select(t => (target, options.Apply(Continuation.From(task, t, ApiKey is not null), ResolvePath) with { Verification = _plan, Batch = AsBatch })).ToList();
    }

    private RequestOptions Options(bool commandLineOnly)
    {
        T? Given<T>(string name, T? value) => commandLineOnly ? CommandLine(name, value) : value;
        return new RequestOptions
        {
            Model = Given(nameof(Model), Model),
            System = Given(nameof(System), System),
            Name = Given(nameof(Name), Name),
            Temperature = Given(nameof(Temperature), Temperature),
            MaxTokens = Given(nameof(MaxTokens), MaxTokens),
            MaxCostUsd = Given(nameof(MaxCostUsd), MaxCostUsd),
            TimeoutSec = Given(nameof(TimeoutSec), TimeoutSec),
            MockResponse = Given(nameof(MockResponse), MockResponse),
            StopSequence = Given(nameof(StopSequence), StopSequence),
            ResponseFormat = Given(nameof(ResponseFormat), ResponseFormat),
            JsonSchema = Given(nameof(JsonSchema), JsonSchema),
            ApiBase = Given(nameof(ApiBase), ApiBase),
            McpConfig = Given(nameof(McpConfig), McpConfig),
            AllowedTools = Given(nameof(AllowedTools), AllowedTools),
            WorkingDirectory = Given(nameof(WorkingDirectory), WorkingDirectory),
            MaxTurns = Given(nameof(MaxTurns), MaxTurns),
            Fallback = Given(nameof(Fallback), Fallback),
            FallbackOn = Given(nameof(FallbackOn), FallbackOn),
        };
    }

    private T? CommandLine<T>(string name, T? value) => _commandLine.Contains(name) ? value : default;

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
                else if (Waits)
                {
                    _started.Add((_managers[task!.StorePath], task));
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
        if (!Waits || _started.Count == 0)
        {
            return;
        }

        // Each task as soon as it and every task before it have finished: input order, streamed.
        using var wait = new OrderedWait(this, _started.Select(s => new OrderedWait.Target(s.Manager, s.Task.Id)), "Waiting for LLM tasks", completionOrder: false, stream: Stream);
        foreach (var batch in wait.Ready(Timeout.InfiniteTimeSpan, PipelineStopping))
        {
            foreach (var removed in batch.Where(d => d.Task is null))
            {
                WriteError(ErrorRecords.Create(ErrorRecords.Removed, ErrorCategory.ObjectNotFound,
                    $"Task {removed.Id} was removed from the store while waiting for it.", removed.Id));
            }

            WriteObject(TaskObjects.WithChecks(batch.Where(d => d.Task is not null).Select(d => (d.Manager, d.Task!)).ToList()), enumerateCollection: true);
        }

        FlushEngineEvents();
    }

    private string ResolvePath(string path) => SessionState.Path.GetUnresolvedProviderPathFromPSPath(path);
}

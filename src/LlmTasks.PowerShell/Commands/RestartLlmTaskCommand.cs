using System.Management.Automation;
using System.Net;
using System.Security;
using LlmTasks.Execution;
using LlmTasks.PowerShell.Internal;

namespace LlmTasks.PowerShell.Commands;

/// <summary>
/// Runs Failed, NeedsReview and Cancelled tasks again, in this session, as a new attempt series
/// (the same request and verification spec; earlier attempts and check results stay in the store).
/// -Model, -TimeoutSec, -Temperature, -MaxTokens, -MaxCostUsd, -ApiBase and -MaxAttempts change the request first
/// (checked as Start-LlmTask checks them, and stored with the task); -ApiKey gives the calls a key
/// (memory only). Writes the restarted tasks (Pending); -Wait writes them finished, in input order.
/// </summary>
[Cmdlet(VerbsLifecycle.Restart, "LlmTask", DefaultParameterSetName = IdSet, SupportsShouldProcess = true)]
[OutputType(typeof(LlmTask))]
public sealed class RestartLlmTaskCommand : TaskSelectionCommandBase
{
    private readonly List<(TaskManager Manager, LlmTask Task)> _restarted = [];

    /// <summary>Piped objects with only an Id are refused: see <see cref="TaskSelectionCommandBase.ChangesTasks"/>.</summary>
    protected override bool ChangesTasks => true;

    /// <summary>Run with this model instead (provider/model).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(Completers.ModelCompleter))]
    public string? Model { get; set; }

    /// <summary>Time allowed for each model call, in seconds.</summary>
    [Parameter]
    public double? TimeoutSec { get; set; }

    [Parameter]
    public double? Temperature { get; set; }

    [Parameter]
    public int? MaxTokens { get; set; }

    /// <summary>A new cap on the task's whole cost, in US dollars (what it has cost already counts): a task ended by CostLimit goes on under a higher one.</summary>
    [Parameter]
    public decimal? MaxCostUsd { get; set; }

    /// <summary>The provider's base URL for the task from now on.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? ApiBase { get; set; }

    /// <summary>The API key for the restarted calls: kept in this session's memory only, never stored or shown.</summary>
    [Parameter]
    [ValidateNotNull]
    [SecureStringTransformation]
    public SecureString? ApiKey { get; set; }

    /// <summary>Model calls the new attempt series may make to pass the task's -Verify checks.</summary>
    [Parameter]
    [ValidateRange(1, 100)]
    public int MaxAttempts { get; set; }

    /// <summary>Model calls at once in this session (sticky, as ThreadJob's is); default 8.</summary>
    [Parameter]
    [ValidateRange(1, 1024)]
    public int ThrottleLimit { get; set; }

    /// <summary>Wait for the restarted tasks and write them finished, in input order.</summary>
    [Parameter]
    public SwitchParameter Wait { get; set; }

    protected override void BeginProcessing()
    {
        if (MyInvocation.BoundParameters.ContainsKey(nameof(ThrottleLimit)))
        {
            TaskManagers.SetConcurrency(ThrottleLimit);
        }
    }

    protected override void ProcessRecord()
    {
        var secrets = ApiKey is null ? null : new TaskSecrets(new NetworkCredential(string.Empty, ApiKey).Password);
        foreach (var (manager, tasks) in SelectTasks())
        {
            var ids = new List<long>();
            foreach (var task in tasks)
            {
                if (!task.State.IsRestartable())
                {
                    WriteError(ErrorRecords.Create(ErrorRecords.NotRestartable, ErrorCategory.InvalidOperation,
                        $"Task {ErrorRecords.Describe(task)} cannot be restarted; only Failed, NeedsReview and Cancelled tasks can.", task));
                }
                else if (ShouldProcess(ErrorRecords.Describe(task), "Restart"))
                {
                    ids.Add(task.Id);
                }
            }

            if (ids.Count == 0)
            {
                continue;
            }

            try
            {
                foreach (var task in manager.Restart(ids, Changes(), secrets))
                {
                    if (Wait)
                    {
                        _restarted.Add((manager, task));
                    }
                    else
                    {
                        WriteObject(task);
                    }
                }
            }
            catch (LlmTasksException e)
            {
                WriteError(e); // a changed request the checks refused: nothing was restarted
            }
        }

        FlushEngineEvents();
    }

    /// <summary>What the given options change in a task's request; null when nothing is given.</summary>
    private Func<LlmTaskRequest, LlmTaskRequest>? Changes()
    {
        var bound = MyInvocation.BoundParameters;
        var options = new RequestOptions { Model = Model, TimeoutSec = TimeoutSec, Temperature = Temperature, MaxTokens = MaxTokens, MaxCostUsd = MaxCostUsd, ApiBase = ApiBase };
        var maxAttempts = bound.ContainsKey(nameof(MaxAttempts));
        if (options == new RequestOptions() && !maxAttempts && ApiKey is null)
        {
            return null;
        }

        return request =>
        {
            if (maxAttempts && request.Verification is null)
            {
                throw new LlmTasksException(ErrorIds.InvalidVerification, LlmErrorCategory.InvalidArgument,
                    "-MaxAttempts needs a task started with -Verify: it says how often to re-ask for an answer that passes its checks.");
            }

            var changed = options.Apply(request, p => SessionState.Path.GetUnresolvedProviderPathFromPSPath(p));
            return changed with
            {
                Verification = maxAttempts ? request.Verification! with { MaxAttempts = MaxAttempts } : request.Verification,
                ApiKeyGiven = ApiKey is not null || request.ApiKeyGiven,
            };
        };
    }

    protected override void EndProcessing()
    {
        if (_restarted.Count == 0)
        {
            return;
        }

        using var wait = new OrderedWait(this, _restarted.Select(r => new OrderedWait.Target(r.Manager, r.Task.Id)), "Waiting for restarted LLM tasks", completionOrder: false);
        foreach (var batch in wait.Ready(Timeout.InfiniteTimeSpan, PipelineStopping))
        {
            WriteObject(TaskObjects.WithChecks(batch.Where(d => d.Task is not null).Select(d => (d.Manager, d.Task!)).ToList()), enumerateCollection: true);
        }

        FlushEngineEvents();
    }
}

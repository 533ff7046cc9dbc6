using System.Management.Automation;
using LlmTasks.Execution;
using LlmTasks.PowerShell.Internal;
using LlmTasks.Providers;
using LlmTasks.Storage;
using LlmTasks.Verification;

namespace LlmTasks.PowerShell.Commands;

/// <summary>
/// Verifies texts or finished tasks after the fact: one LlmVerificationResult per input (or only
/// $true/$false with -Quiet), in input order. Checks run in order; -FailFast stops at the first
/// failure. Inputs are verified concurrently up to -ThrottleLimit (Judge calls run in parallel);
/// results are written on the pipeline thread. For tasks, the results are stored with the task.
/// </summary>
[Cmdlet(VerbsLifecycle.Invoke, "LlmVerification", DefaultParameterSetName = InputSet)]
[OutputType(typeof(LlmVerificationResult), typeof(bool))]
public sealed class InvokeLlmVerificationCommand : LlmTaskCommandBase
{
    private const string InputSet = "InputObject";
    private const string IdSet = "Id";
    private const string InstanceIdSet = "InstanceId";

    private readonly List<Work> _work = [];
    private Verifier? _verifier;
    private SemaphoreSlim? _throttle;
    private int _written;

    /// <summary>
    /// Texts (strings, and numbers as text) or tasks: task objects, live or deserialized, and rows with an
    /// InstanceId and/or Id column. Any other object is refused, never verified as its type name.
    /// </summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ParameterSetName = InputSet)]
    [AllowEmptyString]
    public object[] InputObject { get; set; } = [];

    [Parameter(Mandatory = true, ValueFromPipelineByPropertyName = true, ParameterSetName = IdSet)]
    public long[] Id { get; set; } = [];

    [Parameter(Mandatory = true, ValueFromPipelineByPropertyName = true, ParameterSetName = InstanceIdSet)]
    public Guid[] InstanceId { get; set; } = [];

    /// <summary>The checks: hashtables (@{ Type = 'Json' }) and script blocks { param($Output, $Task) … }.</summary>
    [Parameter(Mandatory = true)]
    [ValidateNotNullOrEmpty]
    public object[] Verify { get; set; } = [];

    /// <summary>Write only $true or $false per input.</summary>
    [Parameter]
    public SwitchParameter Quiet { get; set; }

    /// <summary>Stop at the first failed check of each input.</summary>
    [Parameter]
    public SwitchParameter FailFast { get; set; }

    /// <summary>Inputs verified at once (Judge calls in parallel); default 8.</summary>
    [Parameter]
    [ValidateRange(1, 1024)]
    public int ThrottleLimit { get; set; } = 8;

    protected override void BeginProcessing()
    {
        ListenToEngine(); // check results at -Debug, judge calls at -Verbose
        try
        {
            _verifier = new Verifier(VerifySpec.Convert(Verify, p => SessionState.Path.GetUnresolvedProviderPathFromPSPath(p)), ProviderRegistry.CreateDefault());
        }
        catch (LlmTasksException e)
        {
            ThrowTerminatingError(ErrorRecords.From(e));
        }

        _throttle = new SemaphoreSlim(ThrottleLimit);
    }

    protected override void ProcessRecord()
    {
        switch (ParameterSetName)
        {
            case IdSet:
                Queue(Manager(), Manager().Store.Query(new TaskQuery { Ids = Id }), Id.Select(i => $"Id {i}"), t => $"Id {t.Id}");
                break;
            case InstanceIdSet:
                Queue(Manager(), Manager().Store.Query(new TaskQuery { InstanceIds = InstanceId }), InstanceId.Select(i => $"InstanceId {i}"), t => $"InstanceId {t.InstanceId}");
                break;
            default:
                foreach (var input in InputObject)
                {
                    var text = string.Empty;
                    if (input is null || ScalarText.TryGet(input, out text))
                    {
                        Start(new Work(text, null, null));
                        continue;
                    }

                    if (TaskReferences.Read(input, out var problem) is not { } reference)
                    {
                        WriteError(ErrorRecords.Create(ErrorRecords.InputNotTask, ErrorCategory.InvalidArgument,
                            $"Invoke-LlmVerification verifies text and tasks: {problem}, nor text. It was not verified.", input,
                            "Pipe strings, tasks (Get-LlmTask …) or rows with an Id or InstanceId column; for an object's JSON, pipe it through ConvertTo-Json."));
                        continue;
                    }

                    TaskManager manager;
                    try
                    {
                        manager = Manager(TaskReferences.StorePath(reference, ResolveStore));
                    }
                    catch (LlmTasksException e)
                    {
                        WriteError(e);
                        continue;
                    }

                    var found = TaskReferences.Find(manager, reference);
                    Queue(manager, found is null ? [] : [found], [reference.Describe()], _ => reference.Describe());
                }

                break;
        }

        WriteReady(block: false);
    }

    protected override void EndProcessing() => WriteReady(block: true);

    private void Queue(TaskManager manager, IReadOnlyList<LlmTask> found, IEnumerable<string> asked, Func<LlmTask, string> describe)
    {
        var names = found.Select(describe).ToHashSet();
        foreach (var missing in asked.Where(a => !names.Contains(a)))
        {
            WriteError(ErrorRecords.Create(ErrorRecords.NotFound, ErrorCategory.ObjectNotFound, $"No task with {missing} in the store '{manager.StorePath}'.", missing));
        }

        foreach (var task in found)
        {
            if (!task.State.IsTerminal())
            {
                WriteError(ErrorRecords.Create(ErrorRecords.NotFinished, ErrorCategory.ResourceUnavailable,
                    $"Task {ErrorRecords.Describe(task)} has not finished yet; nothing to verify.", task, "Wait for it first: $task | Wait-LlmTask | Invoke-LlmVerification …"));
                continue;
            }

            Start(new Work(task.Output ?? string.Empty, task, manager));
        }
    }

    private void Start(Work work)
    {
        var verifier = _verifier!;
        var throttle = _throttle!;
        var stopping = PipelineStopping;
        work.Result = Task.Run(async () =>
        {
            await throttle.WaitAsync(stopping).ConfigureAwait(false);
            try
            {
                return await verifier.VerifyAsync(work.Text, work.Task, FailFast, stopping, work.Manager?.Store).ConfigureAwait(false);
            }
            finally
            {
                throttle.Release();
            }
        }, stopping);
        _work.Add(work);
    }

    /// <summary>Writes finished results in input order, on this (the pipeline) thread.</summary>
    private void WriteReady(bool block)
    {
        while (_written < _work.Count)
        {
            var work = _work[_written];
            if (!block && !work.Result!.IsCompleted)
            {
                return;
            }

            LlmVerificationResult result;
            try
            {
                result = WaitFor(work.Result!);
            }
            catch (Exception e) when (Unwrap(e) is CheckInterruptedException interrupted)
            {
                // The module's runspaces went away mid-check: no verdict, and none stored for a task.
                FlushEngineEvents();
                _written++;
                WriteError(ErrorRecords.Create(ErrorRecords.VerificationInterrupted, ErrorCategory.OperationStopped,
                    $"{interrupted.Message} Nothing was decided for {(work.Task is { } t ? "task " + ErrorRecords.Describe(t) : "this input")}.", work.Task ?? (object)work.Text));
                continue;
            }

            FlushEngineEvents(); // this input's check results (-Debug) before its result
            _written++;
            if (work.Task is { } task)
            {
                try
                {
                    work.Manager!.Store.RecordChecks(task.Id, result.Checks);
                }
                catch (LlmTasksException e)
                {
                    WriteError(e); // a read-only store: the result is still written
                }
            }

            if (Quiet)
            {
                WriteObject(result.Passed);
            }
            else
            {
                WriteObject(result);
            }
        }

        FlushEngineEvents();
    }

    private LlmVerificationResult WaitFor(Task<LlmVerificationResult> result)
    {
        try
        {
            return result.Wait(Timeout.Infinite, PipelineStopping) ? result.Result : throw new PipelineStoppedException();
        }
        catch (Exception e) when (e is OperationCanceledException || (e is AggregateException && Unwrap(e) is OperationCanceledException and not CheckInterruptedException))
        {
            throw new PipelineStoppedException();
        }
    }

    private static Exception Unwrap(Exception e) => e is AggregateException { InnerException: { } inner } ? Unwrap(inner) : e;

    private sealed class Work(string text, LlmTask? task, TaskManager? manager)
    {
        public string Text { get; } = text;
        public LlmTask? Task { get; } = task;
        public TaskManager? Manager { get; } = manager;
        public Task<LlmVerificationResult>? Result { get; set; }
    }
}

using System.ComponentModel;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Text;
using System.Threading.Channels;
using CliWrap;
using Microsoft.Extensions.AI;

namespace LlmTasks.Providers.ClaudeCode;

/// <summary>
/// One model call as one run of the Claude Code CLI (with CliWrap: no shell, arguments passed as a
/// list). The answer, usage, cost and the run's facts (session, turns, permission denials) come from
/// the CLI's result object; a failed run throws a <see cref="ClaudeCodeException"/> naming the cause.
/// Cancellation (Stop-LlmTask, -TimeoutSec, shutdown) kills the CLI's whole process tree, MCP servers included, and the
/// tree also dies with this process however it ends (<see cref="CliProcessTree"/>); what a killed process leaves on disk is
/// cleaned up by the next one (<see cref="CliLeftovers"/>).
/// Streamed (<see cref="GetStreamingResponseAsync"/>), the CLI writes stream-json with partial messages: each text
/// delta is yielded as it comes, and the run's result ends the stream (its text is the answer: the last turn's).
/// </summary>
internal sealed class ClaudeCodeChatClient : IChatClient
{
    private readonly ModelId _model;
    private readonly ProviderCallContext _context;
    private readonly ClaudeCodeOptions _options;

    public ClaudeCodeChatClient(ModelId model, ProviderCallContext context, ClaudeCodeOptions options)
    {
        _model = model;
        _context = context;
        _options = options;
    }

    public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
        CallAsync(messages, options, onText: null, cancellationToken);

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var pieces = Channel.CreateUnbounded<string>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        var call = Task.Run(async () =>
        {
            try
            {
                return await CallAsync(messages, options, text => pieces.Writer.TryWrite(text), cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                pieces.Writer.TryComplete();
            }
        }, CancellationToken.None);

        await foreach (var text in pieces.Reader.ReadAllAsync(CancellationToken.None).ConfigureAwait(false))
        {
            yield return new ChatResponseUpdate(ChatRole.Assistant, text);
        }

        var response = await call.ConfigureAwait(false);
        var properties = response.AdditionalProperties ?? [];
        properties[ResponseProperties.FinalText] = response.Text; // the answer is the result's text, not every turn's
        yield return new ChatResponseUpdate
        {
            Role = ChatRole.Assistant,
            FinishReason = ChatFinishReason.Stop,
            ModelId = response.ModelId,
            ResponseId = response.ResponseId,
            Contents = response.Usage is { } usage ? [new UsageContent(usage)] : [],
            AdditionalProperties = properties,
        };
    }

    private async Task<ChatResponse> CallAsync(IEnumerable<ChatMessage> messages, ChatOptions? options, Action<string>? onText, CancellationToken cancellationToken)
    {
        var request = _context.Request with
        {
            Messages = Execution.Pipeline.ChatMapping.FromChat(messages),
            JsonSchema = _context.Request.JsonSchema ?? (options?.ResponseFormat is ChatResponseFormatJson { Schema: { } schema } ? schema.GetRawText() : null),
        };

        // What a request from the store may make the CLI do is decided before anything is written or started.
        ClaudeEnvironment.RequireTrustedBaseUrl(_context, _options);
        Security.StoredAgentOptions.Require(_context, request, _options.Settings ?? Http.ProviderEnvironment.Process);
        var executable = ClaudeExecutable.Resolve(_options.ExecutablePath);
        CliLeftovers.SweepOnce(); // a process's first CLI run cleans up after runs whose process was killed
        // On record before anything exists, off record after everything is gone: a kill in between leaves the record to clean up by.
        using var record = CliRunRecord.Begin(_context.TaskId);
        using var mcp = ClaudeMcpConfig.Create(request, record.McpConfigPath);
        var invocation = ClaudeInvocation.From(request, _model, mcp?.Path, streamed: onText is not null);
        var (folder, ownFolder) = WorkingDirectory(request, record.WorkFolder);
        try
        {
            var run = await RunAsync(executable, invocation, folder, record, onText, cancellationToken).ConfigureAwait(false);
            return ToResponse(invocation, run);
        }
        finally
        {
            if (ownFolder)
            {
                try
                {
                    Directory.Delete(folder, recursive: true);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                }
            }
        }
    }

    public object? GetService(Type serviceType, object? serviceKey = null) =>
        serviceKey is null && serviceType == typeof(ChatClientMetadata) ? new ChatClientMetadata("claude-code", null, _model.Model)
        : serviceKey is null && serviceType.IsInstanceOfType(this) ? this
        : null;

    public void Dispose()
    {
    }


    private sealed record CliRun(int ExitCode, string Stdout, string Stderr);

    private async Task<CliRun> RunAsync(string executable, ClaudeInvocation invocation, string folder, CliRunRecord record, Action<string>? onText,
        CancellationToken cancellationToken)
    {
        var stdout = new StringBuilder();
        var stderr = new StringBuilder();
        using var results = new SemaphoreSlim(0);
        using var overflow = new CancellationTokenSource();
        var limit = _options.MaxOutputBytes;
        // A streamed run's output is mostly JSON around each text delta: its bytes may be many times its text, so the
        // bytes get the framing allowance of an event stream and the text is capped as an answer is (Http.AnswerLimit).
        var bytes = onText is null ? limit : limit * Http.AnswerLimit.StreamFraming;
        var text = new Http.StreamedText(limit);
        // Read in blocks, counting bytes: past the cap the CLI is stopped, so memory stays bounded (a line reader would
        // hold a 600 MB line whole before looking at it; no line may be longer than the cap either).
        var output = PipeTarget.Create((stream, token) => ReadLines(stream, bytes, limit + 64 * 1024, line =>
        {
            if (onText is not null && ClaudeStream.TextDelta(line) is { } piece)
            {
                try
                {
                    text.Add(piece);
                }
                catch (Http.AnswerTooLargeException)
                {
                    overflow.Cancel();
                    return;
                }

                onText(piece);
                return; // deltas are not kept: the result line carries the answer
            }

            lock (stdout)
            {
                stdout.Append(line).Append('\n');
            }

            if (ClaudeResult.IsResultLine(line))
            {
                results.Release();
            }
        }, overflow, token));

        var input = invocation.IsConversation
            ? PipeSource.Create(async (stdin, token) =>
            {
                foreach (var (line, waitAfter) in invocation.StreamLines())
                {
                    await stdin.WriteAsync(Encoding.UTF8.GetBytes(line + "\n"), token).ConfigureAwait(false);
                    await stdin.FlushAsync(token).ConfigureAwait(false);
                    if (waitAfter)
                    {
                        // The CLI acknowledges each user turn with a result line; writing on sooner scrambles the order.
                        await results.WaitAsync(token).ConfigureAwait(false);
                    }
                }
            }) // returning closes stdin: the CLI then exits
            : PipeSource.FromString(invocation.PromptText, Encoding.UTF8); // written, then closed (an open stdin makes the CLI wait)

        // Started so that its whole tree dies with this process (CliProcessTree), and marked with the run's id in its environment.
        var (program, arguments, wrapped) = CliProcessTree.Command(executable, invocation.Arguments());
        var environment = ClaudeEnvironment.For(_context, _options);
        environment[CliProcessTree.RunVariable] = record.Id;
        void KillTree(int id) => CliProcessTree.Kill(id, wrapped);
        var command = Cli.Wrap(program)
            .WithArguments(arguments)
            .WithWorkingDirectory(folder)
            .WithEnvironmentVariables(environment)
            .WithStandardInputPipe(input)
            .WithStandardOutputPipe(output)
            .WithStandardErrorPipe(PipeTarget.Create((stream, token) => KeepTail(stream, stderr, token)))
            .WithValidation(CommandResultValidation.None);

        using var kill = new CancellationTokenSource();
        // Registered before the start: output can pass the cap before ExecuteAsync returns. Until the process id is
        // known, cancelling kill makes CliWrap kill the CLI itself; the tree goes once the id is known.
        var started = new System.Runtime.CompilerServices.StrongBox<int>();
        using var tooLarge = overflow.Token.Register(() =>
        {
            if (Volatile.Read(ref started.Value) is > 0 and var id)
            {
                KillTree(id);
            }

            kill.Cancel();
        });
        CommandTask<CommandResult> running;
        try
        {
            running = await CliSpawner.RunAsync(() => command.ExecuteAsync(kill.Token)).ConfigureAwait(false);
        }
        catch (Exception e) when (e is Win32Exception or InvalidOperationException)
        {
            throw new ClaudeCodeException(ClaudeErrorKinds.CliNotFound, LlmErrorCategory.NotInstalled,
                $"The Claude Code CLI at '{executable}' could not be started: {e.Message}. Set $env:{ClaudeCodeOptions.PathVariable} to the claude executable.", inner: e);
        }

        var processId = running.ProcessId;
        CliProcessTree.Started(processId);
        record.Started(processId);
        Volatile.Write(ref started.Value, processId);
        if (overflow.IsCancellationRequested)
        {
            KillTree(processId);
        }

        // Kill the whole tree first (CliWrap alone would kill only the CLI, leaving MCP servers behind), then let CliWrap finish.
        using var registration = cancellationToken.Register(() =>
        {
            KillTree(processId);
            kill.Cancel();
        });

        try
        {
            var result = await running.ConfigureAwait(false);
            if (cancellationToken.IsCancellationRequested)
            {
                // The tree was killed before CliWrap saw the token: the process "exited" (137), but it was stopped.
                throw Stopped(processId, stderr, cancellationToken);
            }

            if (overflow.IsCancellationRequested)
            {
                throw TooLarge(processId, limit, stderr);
            }

            if (CliProcessTree.ExecFailed(wrapped, result.ExitCode, Text(stdout), Text(stderr)))
            {
                throw new ClaudeCodeException(ClaudeErrorKinds.CliNotFound, LlmErrorCategory.NotInstalled,
                    $"The Claude Code CLI at '{executable}' could not be started: {Text(stderr).Trim()}. Set $env:{ClaudeCodeOptions.PathVariable} to the claude executable.");
            }

            return new CliRun(result.ExitCode, Text(stdout), Text(stderr));
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw Stopped(processId, stderr, cancellationToken);
        }
        catch (OperationCanceledException) when (overflow.IsCancellationRequested)
        {
            throw TooLarge(processId, limit, stderr);
        }
    }

    private static OperationCanceledException Stopped(int processId, StringBuilder stderr, CancellationToken token) =>
        new($"The Claude Code CLI (process {processId}) was stopped and its process tree killed.{ClaudeErrors.StderrTail(Text(stderr))}", token);

    private static ClaudeCodeException TooLarge(int processId, long limit, StringBuilder stderr) =>
        new(ClaudeErrorKinds.ResponseTooLarge, LlmErrorCategory.InvalidData,
            $"The Claude Code CLI (process {processId}) wrote more than the {Http.AnswerSizes.Describe(limit)} limit on its output, so it was stopped and its process tree killed. " +
            $"Raise ${Http.ProviderEnvironment.MaxAnswerVariable} (in MB) if such answers are expected.{ClaudeErrors.StderrTail(Text(stderr))}",
            inner: new Http.AnswerTooLargeException(limit, null));

    /// <summary>
    /// Splits the CLI's output into lines as it arrives; past <paramref name="limit"/> bytes, or a line longer than
    /// <paramref name="lineLimit"/> characters, it stops reading and cancels <paramref name="overflow"/>.
    /// </summary>
    private static async Task ReadLines(Stream stream, long limit, long lineLimit, Action<string> onLine, CancellationTokenSource overflow, CancellationToken token)
    {
        var decoder = Encoding.UTF8.GetDecoder();
        var bytes = new byte[64 * 1024];
        var chars = new char[Encoding.UTF8.GetMaxCharCount(bytes.Length)];
        var line = new StringBuilder();
        long total = 0;
        int read;
        while ((read = await stream.ReadAsync(bytes, token).ConfigureAwait(false)) > 0)
        {
            total += read;
            if (total > limit || line.Length > lineLimit || overflow.IsCancellationRequested)
            {
                // Stop the CLI; read on, keeping nothing, until it is gone: closing the pipe now would let it run on.
                overflow.Cancel();
                while (await stream.ReadAsync(bytes, token).ConfigureAwait(false) > 0)
                {
                }

                return;
            }

            var count = decoder.GetChars(bytes, 0, read, chars, 0);
            for (var i = 0; i < count; i++)
            {
                if (chars[i] == '\n')
                {
                    onLine(line.ToString().TrimEnd('\r'));
                    line.Clear();
                }
                else
                {
                    line.Append(chars[i]);
                }
            }
        }

        if (line.Length > 0)
        {
            onLine(line.ToString());
        }
    }

    /// <summary>Keeps the last 64 K characters of stderr: enough for the tail an error quotes, bounded however much the CLI writes.</summary>
    private static async Task KeepTail(Stream stream, StringBuilder tail, CancellationToken token)
    {
        const int Keep = 64 * 1024;
        using var reader = new StreamReader(stream, Encoding.UTF8);
        var buffer = new char[8192];
        int read;
        while ((read = await reader.ReadAsync(buffer, token).ConfigureAwait(false)) > 0)
        {
            lock (tail)
            {
                tail.Append(buffer, 0, read);
                if (tail.Length > 2 * Keep)
                {
                    tail.Remove(0, tail.Length - Keep);
                }
            }
        }
    }

    private ChatResponse ToResponse(ClaudeInvocation invocation, CliRun run)
    {
        var result = ClaudeResult.FindLast(run.Stdout) ?? throw ClaudeErrors.NoResult(run.ExitCode, run.Stdout, run.Stderr);
        if (result.IsError || run.ExitCode != 0)
        {
            var error = ClaudeErrors.FromResult(result, run.ExitCode, run.Stderr, invocation.MaxTurns);
            error.DetailsJson = result.DetailsJson(); // session id, turns, denials: kept on the failed attempt too
            throw error;
        }

        if (invocation.JsonSchema is not null && result.StructuredOutput is null)
        {
            throw new ClaudeCodeException(ClaudeErrorKinds.InvalidJson, LlmErrorCategory.InvalidResult,
                $"The Claude Code CLI returned no structured_output although a JSON schema was given; the model answered: {result.Result ?? "(nothing)"}")
            {
                DetailsJson = result.DetailsJson(),
            };
        }

        var properties = new AdditionalPropertiesDictionary
        {
            [ResponseProperties.Details] = result.DetailsJson(),
        };
        if (result.TotalCostUsd is { } cost)
        {
            properties[ResponseProperties.CostUsd] = cost;
        }

        if (result.StructuredOutput is { } structured)
        {
            properties[ResponseProperties.StructuredOutput] = structured;
        }

        long? input = result.InputTokens is null ? null : result.InputTokens + (result.CacheReadTokens ?? 0) + (result.CacheCreationTokens ?? 0);
        return new ChatResponse(new ChatMessage(ChatRole.Assistant, result.Result ?? string.Empty))
        {
            ModelId = invocation.Model,
            ResponseId = result.SessionId,
            Usage = new UsageDetails
            {
                InputTokenCount = input,
                OutputTokenCount = result.OutputTokens,
                TotalTokenCount = input + result.OutputTokens,
                CachedInputTokenCount = result.CacheReadTokens,
            },
            AdditionalProperties = properties,
        };
    }

    private static (string Folder, bool Owned) WorkingDirectory(LlmTaskRequest request, string own)
    {
        if (request.ProviderOptions?.WorkingDirectory is { } given && !string.IsNullOrWhiteSpace(given))
        {
            return Directory.Exists(given)
                ? (given, false)
                : throw new ClaudeCodeException(ClaudeErrorKinds.InvalidOption, LlmErrorCategory.ObjectNotFound,
                    $"The working directory '{given}' does not exist: create it, or leave -WorkingDirectory out for a fresh temporary folder.");
        }

        var folder = own;
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(folder);
        }
        else
        {
            Directory.CreateDirectory(folder, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        return (folder, true);
    }

    private static string Text(StringBuilder builder)
    {
        lock (builder)
        {
            return builder.ToString();
        }
    }
}

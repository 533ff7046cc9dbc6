using System.Collections.Concurrent;
using System.Diagnostics;
using System.Management.Automation;
using System.Text;
using LlmTasks.Execution;

namespace LlmTasks.PowerShell.Internal;

/// <summary>
/// -Stream: writes the text of the tasks a cmdlet waits for as it arrives, to the host (the information stream, tagged
/// PSHOST and LlmTaskText, as Write-Host -NoNewline writes: <c>6&gt;$null</c> hides it, <c>6&gt;&amp;1</c> captures it), never
/// to the output. Pieces of tasks running in this process arrive through <see cref="TaskManager.OutputArrived"/> and
/// are queued; tasks running elsewhere are followed through their saved PartialOutput. Everything is written from
/// the cmdlet's own thread (<see cref="Pump"/>), each task's text after a "[Task n] " label whenever another task's
/// text was written in between, and the rest of a task's answer when it finishes.
/// </summary>
internal sealed class LiveText : IDisposable
{
    private static readonly TimeSpan PollEvery = TimeSpan.FromMilliseconds(250);
    private static readonly string[] Tags = ["PSHOST", "LlmTaskText"];

    private readonly Commands.LlmTaskCommandBase _cmdlet;
    private readonly ConcurrentQueue<(TaskManager Manager, TaskOutputPiece Piece)> _pieces = new();
    private readonly List<(TaskManager Manager, Action<TaskOutputPiece> Handler)> _subscriptions = [];
    private readonly Dictionary<(TaskManager, long), Shown> _shown = [];
    private readonly Stopwatch _sincePoll = Stopwatch.StartNew();
    private (TaskManager, long)? _current;
    private bool _lineOpen;

    public LiveText(Commands.LlmTaskCommandBase cmdlet, IEnumerable<OrderedWait.Target> targets)
    {
        _cmdlet = cmdlet;
        foreach (var group in targets.GroupBy(t => t.Manager))
        {
            var manager = group.Key;
            var ids = group.Select(t => t.Id).ToHashSet();
            Action<TaskOutputPiece> handler = piece =>
            {
                if (ids.Contains(piece.TaskId))
                {
                    _pieces.Enqueue((manager, piece)); // only queued: written from the cmdlet's thread
                }
            };
            manager.OutputArrived += handler;
            _subscriptions.Add((manager, handler));
        }
    }

    /// <summary>Writes what arrived since the last call; every 250 ms also what tasks running elsewhere saved.</summary>
    public void Pump(IReadOnlyList<OrderedWait.Target> unfinished)
    {
        while (_pieces.TryDequeue(out var item))
        {
            var shown = ShownFor(item.Manager, item.Piece.TaskId);
            if (item.Piece.Text is null)
            {
                shown.StartOver();
            }
            else
            {
                Write(item.Manager, item.Piece.TaskId, shown, item.Piece.Text);
            }
        }

        if (_sincePoll.Elapsed < PollEvery)
        {
            return;
        }

        _sincePoll.Restart();
        foreach (var group in unfinished.GroupBy(t => t.Manager))
        {
            IReadOnlyDictionary<long, string> partial;
            try
            {
                partial = group.Key.Store.PartialOutputs(group.Select(t => t.Id).ToArray());
            }
            catch (LlmTasksException)
            {
                continue; // the store cannot be read right now: the next poll tries again
            }

            foreach (var (id, text) in partial)
            {
                Sync(group.Key, id, text);
            }
        }
    }

    /// <summary>A task finished: the rest of its answer, then the end of its line.</summary>
    public void Finished(TaskManager manager, LlmTask task)
    {
        Pump([]);
        if (task.State == LlmTaskState.Completed && task.Output is { } output)
        {
            Sync(manager, task.Id, output);
        }

        if (_current == (manager, task.Id) && _lineOpen)
        {
            Emit(Environment.NewLine);
            _lineOpen = false;
        }

        _shown.Remove((manager, task.Id));
    }

    /// <summary>Brings what is shown of a task up to <paramref name="text"/> (its whole text so far).</summary>
    private void Sync(TaskManager manager, long id, string text)
    {
        var shown = ShownFor(manager, id);
        var had = shown.Text;
        if (had.StartsWith(text, StringComparison.Ordinal))
        {
            return; // shown already (pieces of a task running here come before its saves)
        }

        if (text.StartsWith(had, StringComparison.Ordinal))
        {
            if (text.Length > had.Length)
            {
                Write(manager, id, shown, text[had.Length..]);
            }
        }
        else
        {
            shown.StartOver(); // a new try (or a re-ask) elsewhere: its text from the start
            Write(manager, id, shown, text);
        }
    }

    private void Write(TaskManager manager, long id, Shown shown, string text)
    {
        var key = (manager, id);
        if (_current != key || shown.Restarted || shown.Length == 0)
        {
            if (_lineOpen)
            {
                Emit(Environment.NewLine);
            }

            Emit(shown.Restarted ? $"[Task {id}, again] " : $"[Task {id}] ");
            shown.Restarted = false;
            _current = key;
        }

        shown.Append(text);
        Emit(text);
        _lineOpen = !text.EndsWith('\n');
    }

    private Shown ShownFor(TaskManager manager, long id)
    {
        if (!_shown.TryGetValue((manager, id), out var shown))
        {
            _shown[(manager, id)] = shown = new Shown();
        }

        return shown;
    }

    private void Emit(string text) => _cmdlet.WriteInformation(new HostInformationMessage { Message = text, NoNewLine = true }, Tags);

    public void Dispose()
    {
        foreach (var (manager, handler) in _subscriptions)
        {
            manager.OutputArrived -= handler;
        }

        if (_lineOpen)
        {
            try
            {
                Emit(Environment.NewLine);
            }
            catch (PipelineStoppedException)
            {
                // Stopping: nothing more is written.
            }
        }
    }

    /// <summary>What has been written of one task's current answer.</summary>
    private sealed class Shown
    {
        private readonly StringBuilder _text = new();

        public string Text => _text.ToString();

        public int Length => _text.Length;

        /// <summary>The answer started over after something of it was shown: label the new text.</summary>
        public bool Restarted { get; set; }

        public void Append(string text) => _text.Append(text);

        public void StartOver()
        {
            if (_text.Length > 0)
            {
                Restarted = true;
            }

            _text.Clear();
        }
    }
}

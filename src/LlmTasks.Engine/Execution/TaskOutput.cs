using System.Collections.Concurrent;
using System.Text;
using LlmTasks.Execution.Pipeline;

namespace LlmTasks.Execution;

/// <summary>A piece of a task's answer as it streamed in here; <see cref="Text"/> null: the answer starts over (a new try, a re-ask).</summary>
public sealed record TaskOutputPiece(long TaskId, string? Text);

/// <summary>
/// A running task's streamed answer in this process: each piece goes to whoever watches here
/// (<see cref="TaskManager.OutputArrived"/>: Wait-LlmTask -Stream) at once, and to the store at a bounded rate — once
/// <see cref="TaskManagerOptions.PartialOutputInterval"/> has passed since the last save or
/// <see cref="TaskManagerOptions.PartialOutputChars"/> characters have come since — so Get-LlmTask in another shell
/// sees the task's PartialOutput grow. What came after the last save is saved by the manager's flush (<see cref="Flush"/>).
/// </summary>
internal sealed class TaskOutput(long taskId, TaskOutputs owner) : ICallOutput
{
    private readonly object _lock = new();
    private readonly StringBuilder _text = new();
    private int _saved;
    private long _lastSave;

    public long TaskId => taskId;

    public void TryStarted(int tryNumber)
    {
        lock (_lock)
        {
            _text.Clear();
            _saved = 0;
            _lastSave = owner.Time.GetTimestamp();
        }

        owner.Raise(new TaskOutputPiece(taskId, null));
    }

    public void Append(string text)
    {
        string? save;
        lock (_lock)
        {
            _text.Append(text);
            save = Due();
        }

        owner.Raise(new TaskOutputPiece(taskId, text));
        if (save is not null)
        {
            owner.Save(taskId, save);
        }
        else
        {
            owner.Watch(this); // the flush saves what came after the last save
        }
    }

    /// <summary>Saves what came since the last save, once the interval has passed.</summary>
    public bool Flush()
    {
        string? save;
        lock (_lock)
        {
            save = Due();
            if (save is null && _text.Length > _saved)
            {
                return true; // more to save later
            }
        }

        if (save is not null)
        {
            owner.Save(taskId, save);
        }

        return false;
    }

    private string? Due()
    {
        if (_text.Length <= _saved)
        {
            return null;
        }

        var now = owner.Time.GetTimestamp();
        if (_text.Length - _saved < owner.Chars && owner.Time.GetElapsedTime(_lastSave, now) < owner.Interval)
        {
            return null;
        }

        _saved = _text.Length;
        _lastSave = now;
        return _text.ToString();
    }
}

/// <summary>The streamed answers of a manager's running tasks: the flush that saves their last pieces, and the watchers.</summary>
internal sealed class TaskOutputs(TimeProvider time, TimeSpan interval, int chars, Action<long, string> save, Action<TaskOutputPiece> raise) : IDisposable
{
    private readonly ConcurrentDictionary<TaskOutput, byte> _unsaved = new();
    private readonly object _lock = new();
    private ITimer? _timer;

    public TimeProvider Time => time;
    public TimeSpan Interval => interval;
    public int Chars => chars;

    public TaskOutput For(long taskId) => new(taskId, this);

    public void Raise(TaskOutputPiece piece) => raise(piece);

    public void Save(long taskId, string text) => save(taskId, text);

    public void Watch(TaskOutput output)
    {
        if (!_unsaved.TryAdd(output, 0))
        {
            return;
        }

        lock (_lock)
        {
            _timer ??= time.CreateTimer(_ => FlushAll(), null, interval, interval);
        }
    }

    /// <summary>The task's run ended: its answer is written with its result, nothing more to save.</summary>
    public void Forget(TaskOutput output) => _unsaved.TryRemove(output, out _);

    private void FlushAll()
    {
        foreach (var output in _unsaved.Keys)
        {
            if (!output.Flush())
            {
                _unsaved.TryRemove(output, out _);
            }
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            _timer?.Dispose();
            _timer = null;
        }

        _unsaved.Clear();
    }
}

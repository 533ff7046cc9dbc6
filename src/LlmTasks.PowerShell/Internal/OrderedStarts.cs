using System.Diagnostics;

namespace LlmTasks.PowerShell.Internal;

/// <summary>
/// Start-LlmTask's inserts in flight, handed back in input order once their rows are committed (a
/// task object is only ever written once it is durable). Input that arrives slowly waits for its own
/// commit, so its task is written at once; a burst of piped input shares commits. How fast input comes is the time
/// between the caller handing back and its next prompt: time spent here waiting for a commit is not the input's, or one
/// commit slower than <see cref="SlowInput"/> (a database server's round trip on a loaded machine) would make every
/// later prompt look slow and wait for a commit of its own.
/// </summary>
internal sealed class OrderedStarts
{
    private const int MaxInFlight = 512;
    private static readonly TimeSpan SlowInput = TimeSpan.FromMilliseconds(2);
    private readonly Queue<Task<LlmTask>> _inserting = new();
    private long _handedBackAt;

    /// <summary>Adds an insert; true when the input is slow, so the caller should wait for everything now.</summary>
    public bool Add(Task<LlmTask> insert)
    {
        _inserting.Enqueue(insert);
        var slow = Stopwatch.GetElapsedTime(_handedBackAt) > SlowInput;
        _handedBackAt = Stopwatch.GetTimestamp(); // for a caller that does not take what is ready before its next Add
        return slow;
    }

    /// <summary>
    /// The committed starts at the head of the queue, in input order: a task, or the error that kept it
    /// from being stored. Waits for all of them with <paramref name="waitForAll"/>, else only while too many are in flight.
    /// </summary>
    public IEnumerable<(LlmTask? Task, LlmTasksException? Error)> TakeReady(bool waitForAll, CancellationToken stopping)
    {
        while (_inserting.TryPeek(out var head))
        {
            if (!head.IsCompleted && !waitForAll && _inserting.Count <= MaxInFlight)
            {
                break;
            }

            try
            {
                head.Wait(stopping);
            }
            catch (AggregateException)
            {
                // reported below
            }

            _inserting.Dequeue();
            if (head.IsCompletedSuccessfully)
            {
                yield return (head.Result, null);
            }
            else if (head.Exception?.InnerException is LlmTasksException error)
            {
                yield return (null, error);
            }
            else
            {
                throw head.Exception!.InnerException ?? head.Exception;
            }
        }

        _handedBackAt = Stopwatch.GetTimestamp();
    }
}

using System.Globalization;

namespace LlmTasks.Execution.Limits;

/// <summary>
/// A task's -MaxCostUsd while it runs: what the task has cost so far (its stored cost, every earlier run and attempt
/// included, plus each call of this run as it is answered: tries, fallbacks, re-asks and judge calls alike) against its cap.
/// A call is not started when what it is sure to cost (its prompt, and -MaxTokens of answer when given, at the model's
/// price) would take the task past the cap. Thread-safe.
/// </summary>
internal sealed class TaskSpend(decimal cap, decimal spent)
{
    private readonly object _gate = new();
    private decimal _spent = spent;

    public decimal Cap => cap;

    public decimal Spent
    {
        get
        {
            lock (_gate)
            {
                return _spent;
            }
        }
    }

    /// <summary>A call's cost, once it is known (null: the model has no price, nothing is counted).</summary>
    public void Add(decimal? cost)
    {
        if (cost is > 0)
        {
            lock (_gate)
            {
                _spent += cost.Value;
            }
        }
    }

    /// <summary>Why a call estimated to cost <paramref name="next"/> may not start, or null when it may.</summary>
    public string? Refusal(decimal next, string model)
    {
        var spent = Spent;
        if (spent + next <= cap && spent < cap)
        {
            return null;
        }

        var sure = next > 0 ? string.Create(CultureInfo.InvariantCulture, $" and the next call to {model} would cost at least ${next:0.######}") : string.Empty;
        return string.Create(CultureInfo.InvariantCulture, $"The task has cost ${spent:0.######} of its -MaxCostUsd {cap:0.######}{sure}: no more calls are made for it.")
            + " Restart-LlmTask -MaxCostUsd with a higher cap runs it again (the cap counts everything the task has cost, earlier runs included).";
    }
}

namespace LlmTasks.Storage;

/// <summary>The orders a task list can be read in (<see cref="TaskQuery.Sort"/>); ties are broken by id.</summary>
public enum TaskSort
{
    /// <summary>By creation (the id).</summary>
    Created,
    Name,
    Model,
    State,
    /// <summary>By the task's total cost.</summary>
    Cost,
    /// <summary>By when the task reached its final state.</summary>
    Finished,
}

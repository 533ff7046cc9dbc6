namespace LlmTasks.Storage;

/// <summary>Opens task stores by reference, through the registered backends (<see cref="StoreBackends.Default"/>).</summary>
public static class TaskStore
{
    /// <summary>Opens (creating or migrating where needed) the store a path, URI or connection string names.</summary>
    public static ITaskStore Open(string reference, StoreOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(reference);
        return Open(StoreLocation.Resolve(reference), options);
    }

    public static ITaskStore Open(StoreReference reference, StoreOptions? options = null) => StoreBackends.Default.Open(reference, options);
}

namespace LlmTasks.Storage;

/// <summary>
/// Reads values from a store for argument completion (Tab on -Model and -Name) without opening it for work:
/// read-only, no migration, no task manager, so nothing is claimed or run, and a missing, foreign, newer or
/// unreachable store simply offers nothing.
/// </summary>
public static class StorePeek
{
    public static IReadOnlyList<string> DistinctModels(StoreReference store, string prefix, int limit = 100) => Distinct(store, StoreColumn.Model, prefix, limit);

    public static IReadOnlyList<string> DistinctNames(StoreReference store, string prefix, int limit = 100) => Distinct(store, StoreColumn.Name, prefix, limit);

    public static IReadOnlyList<string> DistinctModels(string store, string prefix, int limit = 100) => DistinctModels(StoreLocation.Resolve(store), prefix, limit);

    public static IReadOnlyList<string> DistinctNames(string store, string prefix, int limit = 100) => DistinctNames(StoreLocation.Resolve(store), prefix, limit);

    private static IReadOnlyList<string> Distinct(StoreReference store, StoreColumn column, string prefix, int limit)
    {
        try
        {
            return StoreBackends.Default.For(store).Distinct(store, column, prefix, limit);
        }
        catch (LlmTasksException)
        {
            return [];
        }
    }
}

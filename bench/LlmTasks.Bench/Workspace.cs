namespace LlmTasks.Bench;

/// <summary>A folder for the run's stores, on the repository's disk (not tmpfs, so synchronous=FULL really syncs).</summary>
internal sealed class Workspace
{
    private int _next;

    public Workspace(string folder)
    {
        Folder = folder;
        Directory.CreateDirectory(folder);
    }

    public string Folder { get; }

    public string NewStore() => Path.Combine(Folder, $"store-{Interlocked.Increment(ref _next)}.db");

    public void Delete()
    {
        try
        {
            Directory.Delete(Folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

namespace LlmTasks.Tests.Doubles;

/// <summary>A store path in a fresh temporary folder, deleted afterwards.</summary>
public sealed class TempStore : IDisposable
{
    public TempStore()
    {
        Folder = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "llmtasks-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Folder);
        Path = System.IO.Path.Combine(Folder, "tasks.db");
    }

    public string Folder { get; }
    public string Path { get; }

    public void Dispose()
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

using LlmTasks.Storage.Postgres;
using LlmTasks.Storage.Sqlite;

namespace LlmTasks.Storage;

/// <summary>
/// The store backends a reference can name, like the provider registry: each says which references are its
/// own; the file backend takes the rest (paths). <see cref="Default"/> is what the module uses; hosts and tests
/// may register others.
/// </summary>
public sealed class StoreBackends
{
    private readonly IStoreBackend[] _backends;

    public StoreBackends(IEnumerable<IStoreBackend> backends)
    {
        _backends = backends.ToArray();
        if (_backends.Select(b => b.Name).Distinct(StringComparer.OrdinalIgnoreCase).Count() != _backends.Length)
        {
            throw new ArgumentException("Two store backends have the same name.", nameof(backends));
        }
    }

    /// <summary>Every backend this build of the engine ships: PostgreSQL databases and SQLite files.</summary>
    public static StoreBackends CreateDefault() => new([new PostgresBackend(), new SqliteBackend()]);

    /// <summary>The backends references are read with (the module's; a host may register more before it opens stores).</summary>
    public static StoreBackends Default { get; set; } = CreateDefault();

    public IReadOnlyCollection<string> Names => _backends.Select(b => b.Name).ToArray();

    /// <summary>The backend that reads this text: the first that recognizes it, else the file backend.</summary>
    public IStoreBackend Recognize(string text) =>
        _backends.FirstOrDefault(b => !b.UsesFiles && b.Recognizes(text))
        ?? _backends.FirstOrDefault(b => b.UsesFiles)
        ?? throw new LlmTasksException(ErrorIds.InvalidStoreReference, LlmErrorCategory.InvalidArgument,
            $"No store backend reads '{text}'. Known backends: {string.Join(", ", Names)}.");

    public IStoreBackend For(StoreReference reference) =>
        _backends.FirstOrDefault(b => string.Equals(b.Name, reference.Backend, StringComparison.OrdinalIgnoreCase))
        ?? throw new LlmTasksException(ErrorIds.InvalidStoreReference, LlmErrorCategory.InvalidArgument,
            $"The store '{reference}' needs the {reference.Backend} backend, which is not registered. Known backends: {string.Join(", ", Names)}.");

    /// <summary>True when the text is a file path (not a URI or connection string a backend reads): it is resolved against the current location.</summary>
    public bool IsFilePath(string text) => Recognize(text).UsesFiles;

    /// <summary>True for a file that belongs to a store without being one (completion leaves it out).</summary>
    public bool IsSideFile(string path) => _backends.Any(b => b.UsesFiles && b.IsSideFile(path));

    public ITaskStore Open(StoreReference reference, StoreOptions? options = null) => For(reference).Open(reference, options ?? StoreOptions.Default);

    public bool Exists(StoreReference reference) => For(reference).Exists(reference);
}

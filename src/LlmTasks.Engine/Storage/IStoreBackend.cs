namespace LlmTasks.Storage;

/// <summary>
/// One kind of task store (a SQLite file, a PostgreSQL database): how its references read, how it opens,
/// and the few things done without opening it for work (completion, existence, recovery). Registered in
/// <see cref="StoreBackends"/>, as providers are in the provider registry.
/// </summary>
public interface IStoreBackend
{
    /// <summary>A short lower-case name ("sqlite", "postgres").</summary>
    string Name { get; }

    /// <summary>True for a backend whose stores are files: its references are paths, resolved against the current location.</summary>
    bool UsesFiles { get; }

    /// <summary>True when the text is one of this backend's references (a URI or connection string it reads). A file backend takes what no other recognizes.</summary>
    bool Recognizes(string text);

    /// <summary>Reads a reference (a full path for a file backend); an <see cref="ErrorIds.InvalidStoreReference"/> error says what is wrong.</summary>
    StoreReference Parse(string text);

    /// <summary>Opens the store (creating or migrating it where needed); refuses a newer schema and leaves it untouched.</summary>
    ITaskStore Open(StoreReference reference, StoreOptions options);

    /// <summary>Whether the store is there already (a file, a database with the store's schema): nothing is created to find out.</summary>
    bool Exists(StoreReference reference);

    /// <summary>Distinct values of a column starting with a prefix, for Tab completion: read-only, quick, empty when anything is wrong.</summary>
    IReadOnlyList<string> Distinct(StoreReference reference, StoreColumn column, string prefix, int limit);

    /// <summary>True for a file that belongs to a store without being one (SQLite's -wal and -shm): completion leaves it out.</summary>
    bool IsSideFile(string path);

    /// <summary>The store, read-only and row by row, for <see cref="StoreRecovery"/>: it is never written.</summary>
    IRecoverySource OpenRecoverySource(StoreReference reference);

    /// <summary>A new, empty store with the latest schema that recovered rows are copied into (ids kept).</summary>
    IRecoveryTarget CreateRecoveryTarget(StoreReference reference, StoreOptions options);
}

/// <summary>The columns completion reads.</summary>
public enum StoreColumn
{
    Model,
    Name,
}

namespace LlmTasks.Storage;

/// <summary>
/// A store read for recovery: read-only, never written, row by row, so a damaged part costs the rows on it
/// and not the table. Values come back as long, double, string, byte[] or <see cref="DBNull"/>.
/// </summary>
public interface IRecoverySource : IDisposable
{
    /// <summary>The backend's own integrity check: "ok", or the first problem it found.</summary>
    string Check();

    /// <summary>The table's columns (empty when it has none, or cannot be read); throws when not even that can be read.</summary>
    IReadOnlyList<string> Columns(string table);

    /// <summary>The largest id any readable source says the table has (0 for an empty table); null when none can be read.</summary>
    long? MaxId(string table);

    /// <summary>The rows whose id is in [<paramref name="from"/>, <paramref name="to"/>], by id; throws on damage (the caller then reads them one by one).</summary>
    IReadOnlyList<IReadOnlyDictionary<string, object>> ReadRows(string table, IReadOnlyList<string> columns, long from, long to);
}

/// <summary>A new store that recovered rows are written into, in one transaction, ids kept.</summary>
public interface IRecoveryTarget : IDisposable
{
    IReadOnlyList<string> Columns(string table);

    /// <summary>Inserts one row; false when the store's constraints refuse it (a duplicate instance id from a damaged row, say).</summary>
    bool TryInsert(string table, IReadOnlyList<string> columns, IReadOnlyList<object> values);

    /// <summary>Commits everything copied (and sets the id counters past the copied ids).</summary>
    void Commit();
}

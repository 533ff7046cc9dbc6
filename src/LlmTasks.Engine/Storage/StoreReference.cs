namespace LlmTasks.Storage;

/// <summary>
/// Which store: a backend's name and what it needs to reach the store. <see cref="Display"/> (also
/// <see cref="ToString"/>) is how tasks, messages and keys name it: a full path, or a URI such as
/// <c>postgres://user@host:5432/db</c>, never with a password. Two references to the same store are equal
/// whatever password or option spelling they carry.
/// </summary>
public sealed class StoreReference : IEquatable<StoreReference>
{
    /// <param name="backend">The backend's name (<see cref="IStoreBackend.Name"/>).</param>
    /// <param name="display">The printable form, without a password.</param>
    /// <param name="connection">What the backend opens (a path, a connection string that may hold a password): never printed.</param>
    public StoreReference(string backend, string display, string connection)
    {
        Backend = backend;
        Display = display;
        Connection = connection;
    }

    public string Backend { get; }

    /// <summary>The store as tasks show it: a full path, or a URI without the password.</summary>
    public string Display { get; }

    /// <summary>What the backend opens. It may hold a password: never print, log or store it.</summary>
    internal string Connection { get; }

    public bool Equals(StoreReference? other) =>
        other is not null && string.Equals(Backend, other.Backend, StringComparison.OrdinalIgnoreCase)
        && string.Equals(Display, other.Display, OperatingSystem.IsWindows() ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal);

    public override bool Equals(object? obj) => Equals(obj as StoreReference);

    public override int GetHashCode() => HashCode.Combine(Backend.ToLowerInvariant(), OperatingSystem.IsWindows() ? Display.ToLowerInvariant() : Display);

    public override string ToString() => Display;
}

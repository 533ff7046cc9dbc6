using System.Security.Cryptography;

namespace LlmTasks.Security;

/// <summary>One signing key: its bytes, the id signatures name it by, and the file it came from.</summary>
internal sealed class SigningKey
{
    internal const int Length = 32;

    internal SigningKey(byte[] bytes, string? path)
    {
        Bytes = bytes;
        Path = path;
        Id = Convert.ToHexString(SHA256.HashData([.. "LlmTasks key id\n"u8, .. bytes]).AsSpan(0, 4)).ToLowerInvariant();
    }

    public byte[] Bytes { get; }

    /// <summary>Names the key in signatures (8 hex digits of a hash of it): a request signed with another key says so.</summary>
    public string Id { get; }

    /// <summary>The key file; null for a process's own key.</summary>
    public string? Path { get; }
}

using System.Security.Cryptography;
using System.Text;
using LlmTasks.Providers.Http;

namespace LlmTasks.Security;

/// <summary>
/// The key that signs this user's requests: 32 random bytes (base64, one line) in a file only its owner may read, made
/// 0600 in folders made 0700 the first time a task is started, and never written to a store. Checking a stored request
/// only reads it. A file that others may read or write, or that holds too short a key, is not used (never overwritten).
/// When the file cannot be made or used, this process signs with a key of its own, in memory only: its tasks are trusted
/// here and nowhere else, and the first cmdlet to start a task says so in a warning.
/// </summary>
internal sealed class SigningKeyring
{
    private const int Length = SigningKey.Length;
    private readonly object _gate = new();
    private readonly Dictionary<string, SigningKey> _loaded = new(StringComparer.Ordinal);
    private readonly Lazy<SigningKey> _processOwn = new(() => new SigningKey(RandomNumberGenerator.GetBytes(SigningKey.Length), null));
    private bool _processOwnUsed;
    private string? _problem;

    /// <summary>This process's keyring: every request it signs or checks goes through it.</summary>
    public static SigningKeyring Process { get; } = new();

    /// <summary>The key to sign with: the user's key file (made now if it does not exist), else this process's own key.</summary>
    public SigningKey ForSigning(ProviderEnvironment settings)
    {
        var path = settings.SigningKeyFile;
        lock (_gate)
        {
            if (path is not null && _loaded.TryGetValue(path, out var known))
            {
                return known;
            }

            try
            {
                var key = path is null
                    ? throw new IOException("there is no folder for it: set $env:HOME, or $env:" + ProviderEnvironment.SigningKeyFileVariable)
                    : Read(path) ?? Create(path);
                _loaded[path] = key;
                return key;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException)
            {
                _problem ??= $"Tasks started in this process are signed with a key of its own, so another process will not trust what they ask for " +
                    $"(their -ApiBase, MCP configuration, tools, working folder and script blocks): the signing key file '{path}' could not be used ({e.Message}). " +
                    "See 'Trust model' in docs/security.md.";
                _processOwnUsed = true;
                return _processOwn.Value;
            }
        }
    }

    /// <summary>The keys a stored request may be signed with here: the user's key file if it exists and may be used (never made here), and this process's own if it signed with it.</summary>
    public IReadOnlyList<SigningKey> ForChecking(ProviderEnvironment settings)
    {
        var path = settings.SigningKeyFile;
        var keys = new List<SigningKey>(2);
        lock (_gate)
        {
            if (path is not null)
            {
                if (_loaded.TryGetValue(path, out var known))
                {
                    keys.Add(known);
                }
                else
                {
                    try
                    {
                        if (Read(path) is { } read)
                        {
                            _loaded[path] = read;
                            keys.Add(read);
                        }
                    }
                    catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException)
                    {
                        // not usable: nothing verifies with it
                    }
                }
            }

            if (_processOwnUsed)
            {
                keys.Add(_processOwn.Value);
            }
        }

        return keys;
    }

    /// <summary>Why this process signs with a key of its own, once (for a warning); null when it does not, or it was said.</summary>
    public string? TakeProblem()
    {
        lock (_gate)
        {
            var problem = _problem;
            _problem = null;
            return problem;
        }
    }

    /// <summary>The key in the file; null when there is no file. A file others may read or write, or a short key, is refused.</summary>
    private static SigningKey? Read(string path)
    {
        if (!File.Exists(path))
        {
            return null;
        }

        if (!OperatingSystem.IsWindows())
        {
            const UnixFileMode Others = UnixFileMode.GroupWrite | UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;
            var mode = File.GetUnixFileMode(path);
            if ((mode & Others) != 0)
            {
                throw new InvalidDataException($"others may read or write it (mode {Convert.ToString((int)mode, 8)}): make it 0600 (a team's shared key 0640) with chmod");
            }
        }

        byte[] bytes;
        try
        {
            bytes = Convert.FromBase64String(File.ReadAllText(path, Encoding.ASCII).Trim());
        }
        catch (FormatException)
        {
            throw new InvalidDataException("it does not hold a base64 key");
        }

        return bytes.Length >= Length ? new SigningKey(bytes, path) : throw new InvalidDataException($"its key has {bytes.Length} bytes, fewer than {Length}");
    }

    /// <summary>Makes the file (0600, folders 0700) without ever replacing one: a process that made it first wins, and its key is read.</summary>
    private static SigningKey Create(string path)
    {
        var folder = Path.GetDirectoryName(path)!;
        Storage.OwnerOnlyFiles.EnsureFolder(folder);
        var bytes = RandomNumberGenerator.GetBytes(Length);
        var temporary = Path.Combine(folder, $".request-signing-{Guid.NewGuid():N}.tmp");
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        try
        {
            using (var stream = new FileStream(temporary, options))
            {
                if (!OperatingSystem.IsWindows())
                {
                    File.SetUnixFileMode(temporary, UnixFileMode.UserRead | UnixFileMode.UserWrite); // whatever the umask
                }

                stream.Write(Encoding.ASCII.GetBytes(Convert.ToBase64String(bytes) + "\n"));
                stream.Flush(flushToDisk: true);
            }

            try
            {
                File.Move(temporary, path, overwrite: false);
            }
            catch (IOException) when (File.Exists(path))
            {
                return Read(path)!; // another process made it first
            }

            return new SigningKey(bytes, path);
        }
        finally
        {
            File.Delete(temporary);
        }
    }
}

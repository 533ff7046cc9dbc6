namespace LlmTasks.Storage;

/// <summary>
/// Creates the store's folder and file readable by their owner only (0700 / 0600 on Unix).
/// The store holds prompts and outputs; nobody else on the machine should read them.
/// On Windows the per-user LocalAppData folder already carries an owner-only ACL.
/// </summary>
internal static class OwnerOnlyFiles
{
    private const UnixFileMode FolderMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    private const UnixFileMode FileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>
    /// Creates the folder and every missing folder above it, each 0700 whatever the umask (a parent left 0777
    /// under umask 000 would let anyone swap the path underneath). Folders that exist are left as they are.
    /// </summary>
    public static void EnsureFolder(string folder)
    {
        if (Directory.Exists(folder))
        {
            return;
        }

        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(folder);
            return;
        }

        var missing = new Stack<string>();
        for (var f = Path.GetFullPath(folder); !string.IsNullOrEmpty(f) && !Directory.Exists(f); f = Path.GetDirectoryName(f))
        {
            missing.Push(f);
        }

        foreach (var created in missing) // from the first missing one down
        {
            Directory.CreateDirectory(created, FolderMode); // its parent exists: one mkdir, whose mode the umask may trim
            File.SetUnixFileMode(created, FolderMode);
        }
    }

    /// <summary>Creates an empty file with owner-only permissions if it does not exist yet.</summary>
    public static void EnsureFile(string path)
    {
        if (File.Exists(path))
        {
            return;
        }

        var options = new FileStreamOptions { Mode = System.IO.FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.ReadWrite };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = FileMode;
        }

        try
        {
            using var _ = new FileStream(path, options);
        }
        catch (IOException) when (File.Exists(path))
        {
            return; // Another process created it first: fine, and its mode is its own.
        }

        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, FileMode); // a umask such as 0200 would otherwise leave the store read-only
        }
    }

    /// <summary>
    /// True when the file's owner has no write permission. Such a store is opened read-only,
    /// even by root (who could write it anyway): the mode bits say what its owner wants.
    /// </summary>
    public static bool IsWriteProtected(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            return new FileInfo(path).IsReadOnly;
        }

        return (File.GetUnixFileMode(path) & UnixFileMode.UserWrite) == 0;
    }
}

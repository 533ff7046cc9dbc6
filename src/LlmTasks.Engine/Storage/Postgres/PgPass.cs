using System.Text;

namespace LlmTasks.Storage.Postgres;

/// <summary>
/// Reads a password from a libpq password file (~/.pgpass): lines of <c>host:port:database:user:password</c>,
/// <c>*</c> matching anything, <c>\:</c> and <c>\\</c> escaping, <c>#</c> starting a comment; the first line that
/// matches wins. As libpq does, a file that others may read (on Unix, any group or world permission) is ignored.
/// </summary>
internal static class PgPass
{
    /// <summary>The password for a connection, or null with why none was found (for the error when the server wants one).</summary>
    public static string? Find(string? file, string host, int port, string database, string user, out string? ignored)
    {
        ignored = null;
        if (file is null || !File.Exists(file))
        {
            return null;
        }

        if (!OperatingSystem.IsWindows() && (File.GetUnixFileMode(file) & (UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute
                | UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute)) != 0)
        {
            ignored = $"the password file '{file}' was ignored: others may read it (chmod 0600 it, as libpq requires)";
            return null;
        }

        string[] lines;
        try
        {
            lines = File.ReadAllLines(file);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            ignored = $"the password file '{file}' cannot be read ({e.Message.TrimEnd('.')})";
            return null;
        }

        foreach (var line in lines)
        {
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }

            var fields = Fields(line);
            if (fields.Count == 5
                && Matches(fields[0], host) && Matches(fields[1], port.ToString(System.Globalization.CultureInfo.InvariantCulture))
                && Matches(fields[2], database) && Matches(fields[3], user))
            {
                return fields[4];
            }
        }

        return null;
    }

    private static bool Matches(string field, string value) => field == "*" || string.Equals(field, value, StringComparison.Ordinal);

    /// <summary>The colon-separated fields of a line, with \: and \\ unescaped; the password takes the rest of the line.</summary>
    private static List<string> Fields(string line)
    {
        var fields = new List<string>();
        var current = new StringBuilder();
        for (var i = 0; i < line.Length; i++)
        {
            var c = line[i];
            if (c == '\\' && i + 1 < line.Length)
            {
                current.Append(line[++i]);
            }
            else if (c == ':' && fields.Count < 4)
            {
                fields.Add(current.ToString());
                current.Clear();
            }
            else
            {
                current.Append(c);
            }
        }

        fields.Add(current.ToString());
        return fields;
    }
}

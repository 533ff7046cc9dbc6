namespace LlmTasks.Storage.Postgres;

/// <summary>
/// The libpq environment variables the PostgreSQL store honours, read in this one place: $env:PGPASSWORD
/// (a password for references that carry none), $env:PGPASSFILE (the password file, default ~/.pgpass or
/// %APPDATA%\postgresql\pgpass.conf) and $env:PGUSER (the user, when a reference names none).
/// </summary>
internal static class PostgresEnvironment
{
    public const string PasswordVariable = "PGPASSWORD";
    public const string PasswordFileVariable = "PGPASSFILE";
    public const string UserVariable = "PGUSER";

    public static string? Password => Value(PasswordVariable);

    public static string? User => Value(UserVariable);

    /// <summary>The password file libpq would read.</summary>
    public static string? PasswordFile
    {
        get
        {
            if (Value(PasswordFileVariable) is { } file)
            {
                return file;
            }

            if (OperatingSystem.IsWindows())
            {
                var appData = Environment.GetFolderPath(Environment.SpecialFolder.ApplicationData);
                return string.IsNullOrEmpty(appData) ? null : Path.Combine(appData, "postgresql", "pgpass.conf");
            }

            var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
            return string.IsNullOrEmpty(home) ? null : Path.Combine(home, ".pgpass");
        }
    }

    private static string? Value(string name) => Environment.GetEnvironmentVariable(name) is { Length: > 0 } value ? value : null;
}

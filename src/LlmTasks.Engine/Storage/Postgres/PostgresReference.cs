using System.Globalization;
using System.Text.RegularExpressions;
using Npgsql;

namespace LlmTasks.Storage.Postgres;

/// <summary>
/// How PostgreSQL stores are named: a URI (<c>postgres://user@host:5432/db</c>, also <c>postgresql://</c>, with
/// <c>?sslmode=</c>, <c>connect_timeout=</c>, <c>application_name=</c>, <c>host=</c> for a socket folder) or a
/// key/value connection string (<c>Host=…;Database=…;Username=…</c>, Npgsql's keywords). The password comes from
/// the reference, else $env:PGPASSWORD, else the password file (~/.pgpass); it is kept in memory for the
/// connection only, told to the redactor, and never part of what prints (<see cref="StoreReference.Display"/>).
/// </summary>
internal static partial class PostgresReference
{
    public const string Backend = "postgres";

    /// <summary>The schema that holds a store's tables: one store per database.</summary>
    public const string Schema = "llmtasks";

    public const int DefaultPort = 5432;

    /// <summary>The passwords references of this process gave, by the store they name (its display form).</summary>
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, string> Given = new(StringComparer.Ordinal);

    public static bool IsUri(string text) =>
        text.StartsWith("postgres://", StringComparison.OrdinalIgnoreCase) || text.StartsWith("postgresql://", StringComparison.OrdinalIgnoreCase);

    public static bool Recognizes(string text) => IsUri(text) || KeyValue(text) is not null;

    public static StoreReference Parse(string text, StoreOptions? options = null)
    {
        var builder = IsUri(text) ? FromUri(text) : KeyValue(text) ?? throw StoreErrors.InvalidReference(Redact(text), "it is neither a postgres:// URI nor a connection string with Host=.");
        if (string.IsNullOrWhiteSpace(builder.Host))
        {
            throw StoreErrors.InvalidReference(Redact(text), "it names no host (Host=… or postgres://host/…).");
        }

        builder.Username = string.IsNullOrEmpty(builder.Username) ? PostgresEnvironment.User ?? Environment.UserName : builder.Username;
        builder.Database = string.IsNullOrEmpty(builder.Database) ? builder.Username : builder.Database;
        if (builder.Port <= 0)
        {
            builder.Port = DefaultPort;
        }

        var display = Display(builder);
        if (string.IsNullOrEmpty(builder.Password))
        {
            // A task prints its store without the password, so a task piped on (Get-LlmTask | Wait-LlmTask) names it so:
            // when nothing else gives one, the password this process was given for that store is used again.
            builder.Password = FindPassword(builder, out _) ?? (Given.TryGetValue(display, out var given) ? given : null);
        }
        else
        {
            Given[display] = builder.Password; // in this process's memory only
        }

        Diagnostics.Secrets.Remember(builder.Password);
        builder.SearchPath = Schema;
        builder.ApplicationName = string.IsNullOrEmpty(builder.ApplicationName) ? "LlmTasks" : builder.ApplicationName;
        builder.MaxAutoPrepare = 64;
        builder.AutoPrepareMinUsages = 2;
        builder.IncludeErrorDetail = false; // no row values in errors
        builder.LogParameters = false;
        return new StoreReference(Backend, display, builder.ConnectionString);
    }

    /// <summary>postgres://user@host:port/database: what tasks, messages and keys show (never the password, nor other options).</summary>
    public static string Display(NpgsqlConnectionStringBuilder builder)
    {
        var host = builder.Host!.Contains(':') && !builder.Host.Contains(',') && !builder.Host.StartsWith('[') ? $"[{builder.Host}]" : builder.Host;
        return $"postgres://{Uri.EscapeDataString(builder.Username ?? string.Empty)}@{host.ToLowerInvariant()}:{builder.Port.ToString(CultureInfo.InvariantCulture)}/{Uri.EscapeDataString(builder.Database ?? string.Empty)}";
    }

    /// <summary>The password libpq would use when the reference gives none: $env:PGPASSWORD, else the password file's first matching line.</summary>
    public static string? FindPassword(NpgsqlConnectionStringBuilder builder, out string? note)
    {
        note = null;
        if (PostgresEnvironment.Password is { } fromEnvironment)
        {
            return fromEnvironment;
        }

        return PgPass.Find(PostgresEnvironment.PasswordFile, builder.Host!, builder.Port, builder.Database!, builder.Username!, out note);
    }

    /// <summary>
    /// A data source for a store's connection string: the password (found when the reference was read) is handed to
    /// Npgsql by a provider, so Npgsql never looks for one itself ($env:PGPASSWORD and the password file are read here,
    /// with libpq's rules, and nowhere else).
    /// </summary>
    public static NpgsqlDataSource DataSource(string connection, Action<NpgsqlConnectionStringBuilder>? adjust = null)
    {
        var builder = new NpgsqlConnectionStringBuilder(connection);
        adjust?.Invoke(builder);
        var password = builder.Password;
        builder.Password = null;
        if (password is null)
        {
            builder.Passfile = OperatingSystem.IsWindows() ? "NUL" : "/dev/null"; // none found by libpq's rules: Npgsql must not read a file we ignored
            return new NpgsqlDataSourceBuilder(builder.ConnectionString).Build();
        }

        return new NpgsqlDataSourceBuilder(builder.ConnectionString)
            .UsePasswordProvider(_ => password, (_, _) => ValueTask.FromResult(password))
            .Build();
    }

    /// <summary>The text with any password in it masked, for messages about a reference that could not be read.</summary>
    public static string Redact(string text) => UriPassword().Replace(KeyPassword().Replace(text, "${key}***"), "${prefix}***@");

    private static NpgsqlConnectionStringBuilder? KeyValue(string text)
    {
        if (!text.Contains('=') || IsUri(text))
        {
            return null;
        }

        try
        {
            var builder = new NpgsqlConnectionStringBuilder(text);
            return string.IsNullOrWhiteSpace(builder.Host) ? null : builder;
        }
        catch (Exception e) when (e is ArgumentException or FormatException or KeyNotFoundException or InvalidOperationException)
        {
            return null;
        }
    }

    private static NpgsqlConnectionStringBuilder FromUri(string text)
    {
        Uri uri;
        try
        {
            uri = new Uri(text);
        }
        catch (UriFormatException e)
        {
            throw StoreErrors.InvalidReference(Redact(text), $"the URI does not read ({e.Message.TrimEnd('.')}); write it as postgres://user@host:5432/database.");
        }

        var builder = new NpgsqlConnectionStringBuilder { Host = uri.DnsSafeHost, Port = uri.Port > 0 ? uri.Port : DefaultPort };
        if (uri.UserInfo.Length > 0)
        {
            var colon = uri.UserInfo.IndexOf(':');
            builder.Username = Uri.UnescapeDataString(colon < 0 ? uri.UserInfo : uri.UserInfo[..colon]);
            if (colon >= 0)
            {
                builder.Password = Uri.UnescapeDataString(uri.UserInfo[(colon + 1)..]);
            }
        }

        var database = Uri.UnescapeDataString(uri.AbsolutePath.TrimStart('/'));
        if (database.Length > 0)
        {
            builder.Database = database;
        }

        foreach (var pair in uri.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var equals = pair.IndexOf('=');
            var key = Uri.UnescapeDataString(equals < 0 ? pair : pair[..equals]);
            var value = equals < 0 ? string.Empty : Uri.UnescapeDataString(pair[(equals + 1)..]);
            switch (key.ToLowerInvariant())
            {
                case "sslmode":
                    builder.SslMode = value.ToLowerInvariant() switch
                    {
                        "disable" => SslMode.Disable,
                        "allow" => SslMode.Allow,
                        "prefer" => SslMode.Prefer,
                        "require" => SslMode.Require,
                        "verify-ca" => SslMode.VerifyCA,
                        "verify-full" => SslMode.VerifyFull,
                        _ => throw StoreErrors.InvalidReference(Redact(text), $"sslmode '{value}' is not one of disable, allow, prefer, require, verify-ca, verify-full."),
                    };
                    break;
                case "connect_timeout" when int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds):
                    builder.Timeout = seconds;
                    break;
                case "application_name":
                    builder.ApplicationName = value;
                    break;
                case "host" when value.Length > 0:
                    builder.Host = value; // a socket folder, as libpq reads ?host=/var/run/postgresql
                    break;
                case "user" when value.Length > 0:
                    builder.Username = value;
                    break;
                case "password" when value.Length > 0:
                    builder.Password = value;
                    break;
                default:
                    throw StoreErrors.InvalidReference(Redact(text), $"the URI option '{key}' is not one the store reads (sslmode, connect_timeout, application_name, host, user, password); use a connection string (Host=…;Database=…) for others.");
            }
        }

        return builder;
    }

    [GeneratedRegex(@"(?<key>\b(?:password|pwd)\s*=\s*)(?:""[^""]*""|'[^']*'|[^;]*)", RegexOptions.IgnoreCase)]
    private static partial Regex KeyPassword();

    [GeneratedRegex(@"(?<prefix>://[^:/@]*):[^@/]*@")]
    private static partial Regex UriPassword();
}

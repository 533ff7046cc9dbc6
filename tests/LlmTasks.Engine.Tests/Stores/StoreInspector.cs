using System.Text.RegularExpressions;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace LlmTasks.Tests.Stores;

/// <summary>
/// Reads and changes a store directly, as an auditor (or a clock that jumps) would, whatever its backend: a SQLite
/// file by its path, a PostgreSQL store by its URI or connection string (the test server's password when the
/// reference has none). SQL is written once, with <c>$name</c> parameters, and runs on both.
/// </summary>
public sealed partial class StoreInspector(string reference)
{
    public bool IsPostgres { get; } = IsPostgresReference(reference);

    public static bool IsPostgresReference(string reference) =>
        reference.StartsWith("postgres://", StringComparison.OrdinalIgnoreCase) || reference.Contains("Host=", StringComparison.OrdinalIgnoreCase);

    public T Scalar<T>(string sql, params (string Name, object Value)[] parameters)
    {
        var value = Run(sql, parameters, command => command.ExecuteScalar());
        return (T)Convert.ChangeType(value!, typeof(T));
    }

    public int Execute(string sql, params (string Name, object Value)[] parameters) => Run(sql, parameters, command => command.ExecuteNonQuery());

    /// <summary>"ok", or what is wrong: SQLite's integrity_check; for PostgreSQL, amcheck over the store's tables and indexes.</summary>
    public string IntegrityCheck()
    {
        if (!IsPostgres)
        {
            return Scalar<string>("PRAGMA integrity_check");
        }

        Execute("CREATE EXTENSION IF NOT EXISTS amcheck");
        var damaged = Scalar<long>("SELECT count(*) FROM (SELECT * FROM verify_heapam('llmtasks.tasks') UNION ALL SELECT * FROM verify_heapam('llmtasks.attempts')) AS problems");
        Execute("""
            SELECT bt_index_check(c.oid, true) FROM pg_index i
            JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = 'llmtasks'
            """);
        return damaged == 0 ? "ok" : $"{damaged} damaged tuples";
    }

    /// <summary>
    /// Something that changes whenever anything in the store is written, even a row rewritten with the same values:
    /// a SQLite file's bytes; every row of a PostgreSQL store with its xmin (the
    /// transaction that last wrote it).
    /// </summary>
    public string Fingerprint()
    {
        if (!IsPostgres)
        {
            return Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(reference)));
        }

        return Scalar<string>("""
            SELECT concat_ws('/',
                (SELECT md5(string_agg(t.xmin::text || ':' || t::text, '|' ORDER BY t.id)) FROM tasks t),
                (SELECT md5(string_agg(a.xmin::text || ':' || a::text, '|' ORDER BY a.id)) FROM attempts a),
                (SELECT md5(string_agg(c.xmin::text || ':' || c::text, '|' ORDER BY c.id)) FROM checks c),
                (SELECT md5(string_agg(v.xmin::text || ':' || v::text, '|' ORDER BY v.version)) FROM schema_version v),
                (SELECT string_agg(table_name, ',' ORDER BY table_name) FROM information_schema.tables WHERE table_schema = 'llmtasks'))
            """);
    }

    private T Run<T>(string sql, (string Name, object Value)[] parameters, Func<System.Data.Common.DbCommand, T> run)
    {
        if (!IsPostgres)
        {
            using var connection = new SqliteConnection($"Data Source={reference};Pooling=False");
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = sql;
            foreach (var (name, value) in parameters)
            {
                command.Parameters.AddWithValue(name, value);
            }

            return run(command);
        }

        using (var pg = new NpgsqlConnection(PostgresConnectionString(reference)))
        {
            pg.Open();
            using var command = pg.CreateCommand();
            command.CommandText = Parameter().Replace(sql, "@$1");
            foreach (var (name, value) in parameters)
            {
                command.Parameters.AddWithValue(name.TrimStart('$'), value);
            }

            return run(command);
        }
    }

    /// <summary>A connection string for a PostgreSQL store reference, with the test server's password when it has none; the store's schema first on the search path.</summary>
    public static string PostgresConnectionString(string reference)
    {
        NpgsqlConnectionStringBuilder builder;
        if (reference.StartsWith("postgres://", StringComparison.OrdinalIgnoreCase))
        {
            var uri = new Uri(reference);
            builder = new NpgsqlConnectionStringBuilder
            {
                Host = uri.Host,
                Port = uri.Port,
                Username = Uri.UnescapeDataString(uri.UserInfo.Split(':')[0]),
                Database = uri.AbsolutePath.TrimStart('/'),
            };
        }
        else
        {
            builder = new NpgsqlConnectionStringBuilder(reference);
        }

        builder.Password ??= PostgresServer.Password;
        builder.SearchPath = "llmtasks,public";
        builder.Pooling = false;
        return builder.ConnectionString;
    }

    [GeneratedRegex(@"\$([A-Za-z_][A-Za-z0-9_]*)")]
    private static partial Regex Parameter();
}

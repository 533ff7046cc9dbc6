using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Npgsql;

namespace LlmTasks.Tests.Stores;

/// <summary>
/// A real PostgreSQL 15 server for a test run: initdb in a temporary folder, started on a free loopback port
/// (and on any extra addresses a test needs), stopped and removed on Dispose. Runs as the current user, or as
/// `nobody` through setpriv when the tests run as root (initdb refuses root). The binaries come from Debian's
/// postgresql package (/usr/lib/postgresql/15/bin, or $env:LLMTASKS_PG_BIN). <see cref="Shared"/> is the one
/// server the test process's store tests share (a database each); servers left by a test process that died
/// (killed, say) are stopped and removed by the next run.
/// </summary>
public sealed class PostgresServer : IDisposable
{
    public const string User = "llmtasks";
    public const string Password = "pg-test-password-5b1f";
    private const string FolderPrefix = "llmtasks-pg-";
    private static readonly Lazy<PostgresServer> SharedServer = new(() =>
    {
        var server = new PostgresServer();
        AppDomain.CurrentDomain.ProcessExit += (_, _) => server.Dispose();
        return server;
    }, LazyThreadSafetyMode.ExecutionAndPublication);

    private readonly string _folder;
    private readonly string _data;
    private readonly string _listen;
    private bool _disposed;

    /// <param name="extraAddresses">More addresses to listen on (and to let in with a password), besides 127.0.0.1.</param>
    public PostgresServer(IReadOnlyList<string>? extraAddresses = null, string? extraClients = null)
    {
        RemoveAbandoned();
        _folder = Directory.CreateTempSubdirectory(FolderPrefix).FullName;
        File.WriteAllText(Path.Combine(_folder, "owner"), $"{Environment.ProcessId} {Process.GetCurrentProcess().StartTime.ToUniversalTime().Ticks}");
        _data = Path.Combine(_folder, "data");
        var passwordFile = Path.Combine(_folder, "pw");
        File.WriteAllText(passwordFile, Password);
        if (IsRoot)
        {
            Chown(_folder);
        }

        Port = FreePort();
        _listen = string.Join(',', new[] { Host }.Concat(extraAddresses ?? []));
        Run("initdb", "-D", _data, "-U", User, "--auth=scram-sha-256", "--pwfile=" + passwordFile, "-E", "UTF8", "--no-sync", "--locale=C");
        File.Delete(passwordFile);
        if (extraClients is not null)
        {
            File.AppendAllText(Path.Combine(_data, "pg_hba.conf"), $"\nhost all all {extraClients} scram-sha-256\n");
        }

        Start();
        Watch();
    }

    /// <summary>The server the store tests of this process share; each test makes its own database on it.</summary>
    public static PostgresServer Shared => SharedServer.Value;

    public int Port { get; }

    public string Host => "127.0.0.1";

    /// <summary>A key/value connection string with the password (what a user would pass).</summary>
    public string ConnectionString(string database = "postgres", string? host = null) =>
        $"Host={host ?? Host};Port={Port};Username={User};Password={Password};Database={database}";

    /// <summary>A URI without the password (the password then comes from PGPASSWORD or .pgpass).</summary>
    public string Uri(string database = "postgres", string? host = null) => $"postgres://{User}@{host ?? Host}:{Port}/{database}";

    public static string BinFolder =>
        Environment.GetEnvironmentVariable("LLMTASKS_PG_BIN") is { Length: > 0 } bin ? bin : "/usr/lib/postgresql/15/bin";

    /// <summary>Creates a fresh, empty database for one test.</summary>
    public string CreateDatabase()
    {
        var name = "t" + Guid.NewGuid().ToString("N")[..12];
        Admin($"CREATE DATABASE {name}");
        return name;
    }

    /// <summary>Drops a test's database, ending any session still on it.</summary>
    public void DropDatabase(string name)
    {
        if (!_disposed)
        {
            Admin($"DROP DATABASE IF EXISTS {name} WITH (FORCE)");
        }
    }

    /// <summary>Runs a statement as the server's superuser on the postgres database.</summary>
    public void Admin(string sql, string database = "postgres")
    {
        using var connection = new NpgsqlConnection(ConnectionString(database) + ";Pooling=false");
        connection.Open();
        using var command = new NpgsqlCommand(sql, connection);
        command.ExecuteNonQuery();
    }

    /// <summary>Restarts the server (a server restart mid-run): every session is cut off.</summary>
    public void Restart()
    {
        Stop();
        Start();
    }

    public void Stop() => Run("pg_ctl", "-D", _data, "-m", "fast", "-w", "stop");

    public void Start() => Run("pg_ctl", "-D", _data, "-l", Path.Combine(_folder, "server.log"), "-w", "-t", "60", "start",
        "-o", $"-p {Port} -c listen_addresses={_listen} -c unix_socket_directories='{_folder}' -c fsync=off -c max_connections=400 -c shared_buffers=64MB");

    private void Run(string tool, params string[] arguments) => RunIn(_folder, tool, arguments);

    private static void RunIn(string folder, string tool, params string[] arguments)
    {
        var start = new ProcessStartInfo(IsRoot ? "setpriv" : Path.Combine(BinFolder, tool))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = folder,
        };
        if (IsRoot)
        {
            foreach (var a in new[] { "--reuid=nobody", "--regid=nogroup", "--clear-groups", Path.Combine(BinFolder, tool) })
            {
                start.ArgumentList.Add(a);
            }
        }

        foreach (var a in arguments)
        {
            start.ArgumentList.Add(a);
        }

        start.Environment["PGPASSWORD"] = Password;
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromSeconds(120)))
        {
            process.Kill(entireProcessTree: true);
            throw new InvalidOperationException($"{tool} did not finish within 120 s");
        }

        if (process.ExitCode != 0)
        {
            var log = Path.Combine(folder, "server.log");
            throw new InvalidOperationException($"{tool} failed ({process.ExitCode}): {output.Result}{errors.Result}{(File.Exists(log) ? File.ReadAllText(log) : string.Empty)}");
        }
    }

    /// <summary>
    /// A watchdog in a session of its own: when this test process ends, however it ends (a kill gives Dispose no
    /// chance), the server is stopped and its folder removed within a second or two.
    /// </summary>
    private void Watch()
    {
        var pgCtl = Path.Combine(BinFolder, "pg_ctl");
        var stop = IsRoot ? $"setpriv --reuid=nobody --regid=nogroup --clear-groups {pgCtl}" : pgCtl;
        var script = $"exec >/dev/null 2>&1 </dev/null; while kill -0 {Environment.ProcessId} 2>/dev/null; do sleep 1; done; {stop} -D '{_data}' -m immediate -w stop >/dev/null 2>&1; rm -rf '{_folder}'";
        var start = new ProcessStartInfo("setsid") { UseShellExecute = false, RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "bash", "-c", script })
        {
            start.ArgumentList.Add(a);
        }

        using var watchdog = Process.Start(start)!;
        watchdog.StandardInput.Close();
    }

    /// <summary>Stops and removes the servers of test processes that are gone (killed before their Dispose ran).</summary>
    private static void RemoveAbandoned()
    {
        foreach (var folder in Directory.EnumerateDirectories(Path.GetTempPath(), FolderPrefix + "*"))
        {
            try
            {
                var owner = File.ReadAllText(Path.Combine(folder, "owner")).Split(' ');
                if (Alive(int.Parse(owner[0]), long.Parse(owner[1])))
                {
                    continue;
                }

                if (File.Exists(Path.Combine(folder, "data", "postmaster.pid")))
                {
                    try
                    {
                        RunIn(folder, "pg_ctl", "-D", Path.Combine(folder, "data"), "-m", "immediate", "-w", "stop");
                    }
                    catch (InvalidOperationException)
                    {
                        // not running after all
                    }
                }

                Directory.Delete(folder, recursive: true);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
            {
                // another run's, being set up or removed right now: leave it
            }
        }
    }

    private static bool Alive(int pid, long startTicks)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited && Math.Abs(process.StartTime.ToUniversalTime().Ticks - startTicks) < TimeSpan.TicksPerSecond;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    private static bool IsRoot => !OperatingSystem.IsWindows() && Environment.UserName == "root";

    private static void Chown(string path)
    {
        using var chown = Process.Start("chown", ["-R", "nobody:nogroup", path])!;
        chown.WaitForExit();
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        NpgsqlConnection.ClearAllPools();
        try
        {
            Stop();
        }
        catch (InvalidOperationException)
        {
            // Already stopped (a test stopped it): remove the folder anyway.
        }

        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

using System.Text.Json.Nodes;
using LlmTasks.Execution;

namespace LlmTasks.Providers.ClaudeCode;

/// <summary>
/// A small file per CLI run, in a folder only its user may open (0700), that says which process started the run and what
/// it leaves on disk: the MCP config file (which can hold a token) and the run's own work folder. It is written before
/// either exists and removed after both are gone, so a process killed at any point in between leaves a record that a
/// recovering process reads (<see cref="CliLeftovers"/>). The folder: $XDG_RUNTIME_DIR/LlmTasks/cli-runs, else
/// ~/.local/state/LlmTasks/cli-runs ($XDG_STATE_HOME), or %LOCALAPPDATA%\LlmTasks\cli-runs on Windows.
/// </summary>
internal sealed class CliRunRecord : IDisposable
{
    /// <summary>This process as an owner string (host:pid:start:random), whose liveness another process on the machine can check.</summary>
    internal static readonly string ThisProcess = LeaseOwner.ForThisProcess();

    private readonly string? _file;

    private CliRunRecord(string id, long taskId, string? file)
    {
        Id = id;
        _file = file;
        var temp = Path.GetTempPath();
        McpConfigPath = Path.Combine(temp, $"{McpPrefix}{taskId}-{id}.json");
        WorkFolder = Path.Combine(temp, WorkPrefix + id);
    }

    internal const string McpPrefix = "llmtasks-mcp-";
    internal const string WorkPrefix = "llmtasks-claude-";

    /// <summary>The run's id (32 hex digits): in its record's name, its file names, and the CLI's environment (<see cref="CliProcessTree.RunVariable"/>).</summary>
    public string Id { get; }

    /// <summary>Where the run's MCP config file goes, if it has one.</summary>
    public string McpConfigPath { get; }

    /// <summary>The run's own work folder, when the task names none.</summary>
    public string WorkFolder { get; }

    /// <summary>The records' folder, made 0700 from the first folder it makes; null when there is no folder for it.</summary>
    internal static string? Folder
    {
        get
        {
            var settings = Http.ProviderEnvironment.Process;
            string? root;
            if (OperatingSystem.IsWindows())
            {
                root = Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData);
            }
            else if (settings.Get("XDG_RUNTIME_DIR") is { } runtime && Path.IsPathRooted(runtime))
            {
                root = runtime;
            }
            else if (settings.Get("XDG_STATE_HOME") is { } state && Path.IsPathRooted(state))
            {
                root = state;
            }
            else
            {
                var home = settings.Get("HOME") ?? Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
                root = string.IsNullOrEmpty(home) ? null : Path.Combine(home, ".local", "state");
            }

            return string.IsNullOrEmpty(root) ? null : Path.Combine(root, "LlmTasks", "cli-runs");
        }
    }

    /// <summary>Records a run about to start. A record that cannot be written costs only the clean-up after a kill: the run goes ahead.</summary>
    public static CliRunRecord Begin(long taskId)
    {
        var id = Guid.NewGuid().ToString("N");
        string? file = null;
        if (Folder is { } folder)
        {
            try
            {
                Storage.OwnerOnlyFiles.EnsureFolder(folder);
                file = Path.Combine(folder, id + ".json");
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                file = null;
            }
        }

        var record = new CliRunRecord(id, taskId, file);
        record.Write(null);
        return record;
    }

    /// <summary>Adds the started process (on Linux the leader of the tree's process group) with its start time.</summary>
    public void Started(int processId) => Write(processId);

    private void Write(int? processId)
    {
        if (_file is null)
        {
            return;
        }

        var json = new JsonObject
        {
            ["owner"] = ThisProcess,
            ["run"] = Id,
            ["mcp"] = McpConfigPath,
            ["folder"] = WorkFolder,
        };
        if (processId is { } pid)
        {
            json["pid"] = pid;
            try
            {
                using var process = System.Diagnostics.Process.GetProcessById(pid);
                json["started"] = new DateTimeOffset(process.StartTime.ToUniversalTime()).ToUnixTimeMilliseconds();
            }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception or NotSupportedException)
            {
                // gone already: nothing to kill later
            }
        }

        try
        {
            var temporary = _file + ".tmp";
            var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
            if (!OperatingSystem.IsWindows())
            {
                options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            }

            using (var stream = new FileStream(temporary, options))
            using (var writer = new StreamWriter(stream))
            {
                writer.Write(json.ToJsonString());
            }

            File.Move(temporary, _file, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // as in Begin: the run goes ahead
        }
    }

    /// <summary>Removes the record: called once the run's files are gone.</summary>
    public void Dispose()
    {
        if (_file is null)
        {
            return;
        }

        try
        {
            File.Delete(_file);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
    }
}

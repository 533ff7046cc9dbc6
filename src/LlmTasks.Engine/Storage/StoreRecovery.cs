using Microsoft.Data.Sqlite;

namespace LlmTasks.Storage;

/// <summary>What <see cref="StoreRecovery.Recover"/> copied out of a store, and what it could not read.</summary>
public sealed record StoreRecoveryResult
{
    public required string Source { get; init; }
    public required string Destination { get; init; }
    /// <summary>SQLite's quick_check of the source: "ok", or the first problem it found.</summary>
    public required string SourceCheck { get; init; }
    public int TasksRecovered { get; init; }
    /// <summary>Tasks whose row could not be read, or read back as something that is not a task.</summary>
    public int TasksLost { get; init; }
    public int AttemptsRecovered { get; init; }
    /// <summary>Attempt rows that could not be read, or belong to a task that was lost.</summary>
    public int AttemptsLost { get; init; }
    public int ChecksRecovered { get; init; }
    public int ChecksLost { get; init; }
}

/// <summary>
/// Copies every row that can still be read from a (damaged) store into a new one, reading the source
/// read-only and leaving it byte for byte as it was. Rows are looked up one by one by their row id, so
/// a damaged page costs the rows on it (or under it), not the whole table. What comes back must look
/// like a task (known state, instance id, request JSON) to be kept; attempts and check results are kept
/// with their task. Ids are kept, so ids in scripts and logs still name the same tasks.
/// </summary>
public static class StoreRecovery
{
    /// <summary>Ids probed past the last row found, when the table's largest id cannot be read.</summary>
    private const int ProbeBeyond = 10_000;

    public static StoreRecoveryResult Recover(string source, string destination, StoreOptions? options = null)
    {
        source = System.IO.Path.GetFullPath(source);
        destination = System.IO.Path.GetFullPath(destination);
        if (!File.Exists(source))
        {
            throw new LlmTasksException(ErrorIds.StoreUnavailable, LlmErrorCategory.ObjectNotFound,
                $"There is no task store at '{source}' to recover from.") { Target = source };
        }

        if (File.Exists(destination) || string.Equals(source, destination, StringComparison.Ordinal))
        {
            throw new LlmTasksException(ErrorIds.StoreExists, LlmErrorCategory.ResourceExists,
                $"'{destination}' already exists: recovery writes a new store and never overwrites a file. Give -Destination a path that does not exist yet.")
            { Target = destination };
        }

        using var from = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = source, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ConnectionString);
        Dictionary<string, string[]> columns;
        string check;
        try
        {
            from.Open();
            check = QuickCheck(from);
            columns = new[] { "tasks", "attempts", "checks" }.ToDictionary(t => t, t => Columns(from, t));
        }
        catch (SqliteException e)
        {
            throw new LlmTasksException(ErrorIds.StoreCorrupt, LlmErrorCategory.InvalidData,
                $"Nothing can be recovered from '{source}': its list of tables cannot be read ({e.Message.TrimEnd('.')}).", e) { Target = source };
        }

        if (columns["tasks"].Length == 0)
        {
            throw new LlmTasksException(ErrorIds.StoreCorrupt, LlmErrorCategory.InvalidData,
                $"Nothing can be recovered from '{source}': it has no tasks table (it is not an LlmTasks store, or that part of it is lost).") { Target = source };
        }

        using (TaskStore.Open(destination, options))
        {
            // creates the new store: owner-only folder and file, the latest schema
        }

        using var to = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = destination, Mode = SqliteOpenMode.ReadWrite, Pooling = false }.ConnectionString);
        to.Open();
        using var transaction = to.BeginTransaction();
        var tasks = Copy(from, to, transaction, "tasks", columns["tasks"], Columns(to, "tasks"), MaxId(from, "tasks", "SELECT seq FROM sqlite_sequence WHERE name = 'tasks'"), LooksLikeTask, null);
        var attempts = Copy(from, to, transaction, "attempts", columns["attempts"], Columns(to, "attempts"), MaxId(from, "attempts"), LooksLikeAttempt, tasks.Ids);
        var checks = Copy(from, to, transaction, "checks", columns["checks"], Columns(to, "checks"), MaxId(from, "checks"), _ => true, tasks.Ids);
        transaction.Commit();
        return new StoreRecoveryResult
        {
            Source = source,
            Destination = destination,
            SourceCheck = check,
            TasksRecovered = tasks.Ids.Count,
            TasksLost = tasks.Lost,
            AttemptsRecovered = attempts.Ids.Count,
            AttemptsLost = attempts.Lost,
            ChecksRecovered = checks.Ids.Count,
            ChecksLost = checks.Lost,
        };
    }

    private static string QuickCheck(SqliteConnection connection)
    {
        try
        {
            using var command = connection.CreateCommand();
            command.CommandText = "PRAGMA quick_check(1)";
            return Convert.ToString(command.ExecuteScalar())?.ReplaceLineEndings(" ") ?? "no result";
        }
        catch (SqliteException e)
        {
            return e.Message.TrimEnd('.');
        }
    }

    private static string[] Columns(SqliteConnection connection, string table)
    {
        using var command = connection.CreateCommand();
        command.CommandText = $"SELECT name FROM pragma_table_info('{table}')"; // fixed table names only
        using var reader = command.ExecuteReader();
        var names = new List<string>();
        while (reader.Read())
        {
            names.Add(reader.GetString(0));
        }

        return names.ToArray();
    }

    /// <summary>The largest row id any readable source says the table has (0 for an empty table); null when none can be read.</summary>
    private static long? MaxId(SqliteConnection connection, string table, params string[] more)
    {
        long? max = null;
        foreach (var sql in more.Prepend($"SELECT coalesce(max(rowid), 0) FROM {table}"))
        {
            try
            {
                using var command = connection.CreateCommand();
                command.CommandText = sql;
                if (command.ExecuteScalar() is long n)
                {
                    max = Math.Max(max ?? 0, n);
                }
            }
            catch (SqliteException)
            {
                // that part is damaged: another source, or probing, decides
            }
        }

        return max;
    }

    private sealed record Copied(HashSet<long> Ids, int Lost);

    private static Copied Copy(SqliteConnection from, SqliteConnection to, SqliteTransaction transaction, string table, string[] sourceColumns, string[] targetColumns,
        long? maxId, Func<Dictionary<string, object>, bool> valid, HashSet<long>? taskIds)
    {
        var copied = new HashSet<long>();
        var lost = 0;
        var names = sourceColumns.Intersect(targetColumns, StringComparer.OrdinalIgnoreCase).ToArray();
        if (names.Length == 0 || !names.Contains("id", StringComparer.OrdinalIgnoreCase))
        {
            return new Copied(copied, 0);
        }

        using var read = from.CreateCommand();
        read.CommandText = $"SELECT {string.Join(", ", names)} FROM {table} WHERE rowid = $id";
        var id = read.Parameters.Add("$id", SqliteType.Integer);
        using var write = to.CreateCommand();
        write.Transaction = transaction;
        write.CommandText = $"INSERT INTO {table} ({string.Join(", ", names)}) VALUES ({string.Join(", ", names.Select((_, i) => "$p" + i))})";
        var values = names.Select((_, i) => write.Parameters.Add(new SqliteParameter("$p" + i, DBNull.Value))).ToArray(); // typed by each value

        var lastFound = 0L;
        for (var n = 1L; maxId is { } max ? n <= max : n <= lastFound + ProbeBeyond; n++)
        {
            id.Value = n;
            Dictionary<string, object> row;
            try
            {
                using var reader = read.ExecuteReader();
                if (!reader.Read())
                {
                    continue; // no such row (removed): not a loss
                }

                row = names.Select((name, i) => (name, value: reader.GetValue(i))).ToDictionary(p => p.name, p => p.value, StringComparer.OrdinalIgnoreCase);
            }
            catch (Exception e) when (e is SqliteException or InvalidCastException or FormatException)
            {
                lost++;
                lastFound = n; // a damaged page: rows may go on after it
                continue;
            }

            lastFound = n;
            if (!valid(row) || (taskIds is not null && !(row.TryGetValue("task_id", out var task) && task is long t && taskIds.Contains(t))))
            {
                lost++;
                continue;
            }

            for (var i = 0; i < names.Length; i++)
            {
                values[i].Value = row[names[i]];
            }

            try
            {
                write.ExecuteNonQuery();
                copied.Add(n);
            }
            catch (SqliteException)
            {
                lost++; // a value the new store's constraints refuse (a duplicate instance id from a damaged row, say)
            }
        }

        return new Copied(copied, lost);
    }

    private static bool LooksLikeTask(Dictionary<string, object> row)
    {
        if (row.GetValueOrDefault("state") is not string state || !Enum.TryParse<LlmTaskState>(state, out _)
            || row.GetValueOrDefault("instance_id") is not string instance || !Guid.TryParse(instance, out _)
            || row.GetValueOrDefault("model") is not string || row.GetValueOrDefault("prompt") is not string
            || row.GetValueOrDefault("created_at") is not long
            || row.GetValueOrDefault("request_json") is not string request)
        {
            return false;
        }

        try
        {
            StoreJson.Deserialize(request);
            return true;
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or ArgumentException or InvalidOperationException or NotSupportedException)
        {
            return false;
        }
    }

    private static bool LooksLikeAttempt(Dictionary<string, object> row) =>
        row.GetValueOrDefault("outcome") is string outcome && Enum.TryParse<LlmAttemptOutcome>(outcome, out _)
        && row.GetValueOrDefault("number") is long && row.GetValueOrDefault("started_at") is long;
}

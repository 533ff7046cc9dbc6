namespace LlmTasks.Storage;

/// <summary>What <see cref="StoreRecovery.Recover"/> copied out of a store, and what it could not read.</summary>
public sealed record StoreRecoveryResult
{
    public required string Source { get; init; }
    public required string Destination { get; init; }
    /// <summary>The source backend's integrity check (SQLite's quick_check): "ok", or the first problem it found.</summary>
    public required string SourceCheck { get; init; }
    public int TasksRecovered { get; init; }
    /// <summary>Tasks whose row could not be read, or read back as something that is not a task.</summary>
    public int TasksLost { get; init; }
    public int AttemptsRecovered { get; init; }
    /// <summary>Attempt rows that could not be read, or belong to a task that was lost.</summary>
    public int AttemptsLost { get; init; }
    public int ChecksRecovered { get; init; }
    public int ChecksLost { get; init; }
    /// <summary>Provider batches (-AsBatch): their provider ids, states and leases, so that the batches still at the provider are collected from the new store.</summary>
    public int BatchesRecovered { get; init; }
    public int BatchesLost { get; init; }
    /// <summary>Budgets (Set-LlmBudget): their scopes, periods and caps, so the repaired store holds tasks to the same caps.</summary>
    public int BudgetsRecovered { get; init; }
    public int BudgetsLost { get; init; }
}

/// <summary>
/// Copies every row that can still be read from a (damaged) store into a new one, reading the source
/// read-only and leaving it as it was. Rows are read a range of ids at a time and, where a range cannot be
/// read, one by one, so a damaged page costs the rows on it (or under it), not the whole table. What comes
/// back must look like a task (known state, instance id, request JSON) to be kept; attempts and check results
/// are kept with their task; provider batches are kept with their provider ids (tasks keep their batch ids), so a batch
/// still at the provider is collected from the new store; budgets are kept with their caps. Ids are kept, so ids in scripts and logs still name the same tasks. Source and
/// destination may be of different backends (a SQLite file copied into a PostgreSQL database).
/// </summary>
public static class StoreRecovery
{
    /// <summary>Ids probed past the last row found, when the table's largest id cannot be read.</summary>
    private const int ProbeBeyond = 10_000;

    private const int Range = 256;

    public static StoreRecoveryResult Recover(string source, string destination, StoreOptions? options = null) =>
        Recover(StoreLocation.Resolve(source), StoreLocation.Resolve(destination), options);

    public static StoreRecoveryResult Recover(StoreReference source, StoreReference destination, StoreOptions? options = null)
    {
        var backends = StoreBackends.Default;
        if (!backends.Exists(source))
        {
            throw new LlmTasksException(ErrorIds.StoreUnavailable, LlmErrorCategory.ObjectNotFound,
                $"There is no task store at '{source}' to recover from.") { Target = source.Display };
        }

        if (source.Equals(destination) || backends.Exists(destination))
        {
            throw new LlmTasksException(ErrorIds.StoreExists, LlmErrorCategory.ResourceExists,
                $"'{destination}' already exists: recovery writes a new store and never overwrites one. Give -Destination a store that does not exist yet.")
            { Target = destination.Display };
        }

        using var from = backends.For(source).OpenRecoverySource(source);
        Dictionary<string, IReadOnlyList<string>> columns;
        string check;
        try
        {
            check = from.Check();
            columns = new[] { "tasks", "attempts", "checks", "batches", "budgets" }.ToDictionary(t => t, from.Columns);
        }
        catch (Exception e) when (e is not LlmTasksException)
        {
            throw new LlmTasksException(ErrorIds.StoreCorrupt, LlmErrorCategory.InvalidData,
                $"Nothing can be recovered from '{source}': its list of tables cannot be read ({e.Message.TrimEnd('.')}).", e) { Target = source.Display };
        }

        if (columns["tasks"].Count == 0)
        {
            throw new LlmTasksException(ErrorIds.StoreCorrupt, LlmErrorCategory.InvalidData,
                $"Nothing can be recovered from '{source}': it has no tasks table (it is not an LlmTasks store, or that part of it is lost).") { Target = source.Display };
        }

        using var to = backends.For(destination).CreateRecoveryTarget(destination, options ?? StoreOptions.Default);
        var tasks = Copy(from, to, "tasks", columns["tasks"], LooksLikeTask, null);
        var attempts = Copy(from, to, "attempts", columns["attempts"], LooksLikeAttempt, tasks.Ids);
        var checks = Copy(from, to, "checks", columns["checks"], _ => true, tasks.Ids);
        var batches = Copy(from, to, "batches", columns["batches"], LooksLikeBatch, null); // none in a store from before migration 5
        var budgets = Copy(from, to, "budgets", columns["budgets"], LooksLikeBudget, null); // none before migration 6
        to.Commit();
        return new StoreRecoveryResult
        {
            Source = source.Display,
            Destination = destination.Display,
            SourceCheck = check,
            TasksRecovered = tasks.Ids.Count,
            TasksLost = tasks.Lost,
            AttemptsRecovered = attempts.Ids.Count,
            AttemptsLost = attempts.Lost,
            ChecksRecovered = checks.Ids.Count,
            ChecksLost = checks.Lost,
            BatchesRecovered = batches.Ids.Count,
            BatchesLost = batches.Lost,
            BudgetsRecovered = budgets.Ids.Count,
            BudgetsLost = budgets.Lost,
        };
    }

    private sealed record Copied(HashSet<long> Ids, int Lost);

    private static Copied Copy(IRecoverySource from, IRecoveryTarget to, string table, IReadOnlyList<string> sourceColumns,
        Func<IReadOnlyDictionary<string, object>, bool> valid, HashSet<long>? taskIds)
    {
        var copied = new HashSet<long>();
        var lost = 0;
        var names = sourceColumns.Intersect(to.Columns(table), StringComparer.OrdinalIgnoreCase).ToArray();
        if (names.Length == 0 || !names.Contains("id", StringComparer.OrdinalIgnoreCase))
        {
            return new Copied(copied, 0);
        }

        var maxId = from.MaxId(table);
        var lastFound = 0L;
        for (var start = 1L; maxId is { } max ? start <= max : start <= lastFound + ProbeBeyond; start += Range)
        {
            var end = maxId is { } m ? Math.Min(m, start + Range - 1) : start + Range - 1;
            IReadOnlyList<IReadOnlyDictionary<string, object>> rows;
            try
            {
                rows = from.ReadRows(table, names, start, end);
            }
            catch (Exception e) when (e is not LlmTasksException)
            {
                // A damaged part: read this range one row at a time, so only the unreadable rows are lost.
                var single = new List<IReadOnlyDictionary<string, object>>();
                for (var n = start; n <= end; n++)
                {
                    try
                    {
                        single.AddRange(from.ReadRows(table, names, n, n));
                    }
                    catch (Exception one) when (one is not LlmTasksException)
                    {
                        lost++;
                        lastFound = n; // rows may go on after it
                    }
                }

                rows = single;
            }

            foreach (var row in rows)
            {
                if (row.GetValueOrDefault("id") is not long id)
                {
                    lost++;
                    continue;
                }

                lastFound = Math.Max(lastFound, id);
                if (!valid(row) || (taskIds is not null && !(row.TryGetValue("task_id", out var task) && task is long t && taskIds.Contains(t))))
                {
                    lost++;
                    continue;
                }

                if (to.TryInsert(table, names, names.Select(n => row.TryGetValue(n, out var v) ? v : DBNull.Value).ToArray()))
                {
                    copied.Add(id);
                }
                else
                {
                    lost++;
                }
            }
        }

        return new Copied(copied, lost);
    }

    private static bool LooksLikeTask(IReadOnlyDictionary<string, object> row)
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

    private static bool LooksLikeBatch(IReadOnlyDictionary<string, object> row) =>
        row.GetValueOrDefault("state") is string state && Enum.TryParse<LlmBatchState>(state, out _)
        && row.GetValueOrDefault("provider") is string && row.GetValueOrDefault("model") is string && row.GetValueOrDefault("created_at") is long;

    private static bool LooksLikeBudget(IReadOnlyDictionary<string, object> row) =>
        row.GetValueOrDefault("scope") is string { Length: > 0 } && row.GetValueOrDefault("period") is string period
        && Enum.TryParse<Execution.Budgets.BudgetPeriod>(period, out _) && row.GetValueOrDefault("max_cost_nanousd") is long cap && cap >= 0;

    private static bool LooksLikeAttempt(IReadOnlyDictionary<string, object> row) =>
        row.GetValueOrDefault("outcome") is string outcome && Enum.TryParse<LlmAttemptOutcome>(outcome, out _)
        && row.GetValueOrDefault("number") is long && row.GetValueOrDefault("started_at") is long;
}

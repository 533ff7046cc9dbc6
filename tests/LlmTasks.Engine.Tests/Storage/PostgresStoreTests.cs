using System.Diagnostics;
using LlmTasks.Execution;
using LlmTasks.Storage;
using LlmTasks.Tests.Doubles;
using LlmTasks.Tests.Stores;
using Microsoft.Extensions.Time.Testing;

namespace LlmTasks.Tests.Storage;

/// <summary>
/// What only the PostgreSQL store has: references and password sources, its schema in a database of its own, roles
/// that may only read, the server's clock for leases, notifications that wake waits, workers and stopped calls,
/// and a server that is unreachable or restarts mid-run.
/// </summary>
public sealed class PostgresStoreTests : IDisposable
{
    private readonly TempStore _temp = new(StoreKind.Postgres);

    public void Dispose() => _temp.Dispose();

    private static PostgresServer Server => PostgresServer.Shared;

    private string Database => new Npgsql.NpgsqlConnectionStringBuilder(_temp.Path).Database!;

    [Theory]
    [InlineData("Host=db.example;Database=llmtasks", 64)]
    [InlineData("Host=db.example;Database=llmtasks;Max Auto Prepare=0", 0)] // behind a pooler in transaction mode
    [InlineData("Host=db.example;Database=llmtasks;maxautoprepare=0", 0)]
    [InlineData("Host=db.example;Database=llmtasks;Max Auto Prepare=8", 8)]
    public void The_store_prepares_its_statements_unless_the_reference_says_otherwise(string connection, int expected)
    {
        var builder = new Npgsql.NpgsqlConnectionStringBuilder(connection);
        LlmTasks.Storage.Postgres.PostgresTaskStore.PreparesItsStatements(builder);
        Assert.Equal(expected, builder.MaxAutoPrepare);
    }

    [Fact]
    public void References_name_the_same_store_whatever_their_form_and_print_without_the_password()
    {
        var forms = new[]
        {
            _temp.Path, // Host=…;Password=…
            $"postgres://{PostgresServer.User}:{PostgresServer.Password}@{Server.Host}:{Server.Port}/{Database}",
            $"postgresql://{PostgresServer.User}:{Uri.EscapeDataString(PostgresServer.Password)}@{Server.Host}:{Server.Port}/{Database}?sslmode=disable&application_name=test",
            $"Server={Server.Host};Port={Server.Port};User ID={PostgresServer.User};Password={PostgresServer.Password};Database={Database};Timeout=5",
        };
        var references = forms.Select(f => StoreLocation.Resolve(f)).ToArray();
        Assert.All(references, r => Assert.Equal(("postgres", _temp.Display), (r.Backend, r.Display)));
        Assert.All(references, r => Assert.Equal(references[0], r));
        Assert.All(references, r => Assert.DoesNotContain(PostgresServer.Password, r.ToString()));

        using var store = TaskStore.Open(forms[1]);
        var task = store.Insert(Managers.Request("who am I?"), "mock", null, null);
        Assert.Equal(_temp.Display, task.StorePath);
        Assert.Equal(_temp.Display, store.Path);
        Assert.False(StoreLocation.IsFilePath(forms[1]));
        Assert.True(StoreLocation.IsFilePath("./tasks.db"));
        Assert.True(StoreLocation.IsFilePath("/tmp/a=b.db")); // an '=' does not make a path a connection string
    }

    [Fact]
    public void A_tasks_StorePath_has_no_password_yet_opens_the_store_with_the_one_this_process_was_given()
    {
        var saved = (Environment.GetEnvironmentVariable("PGPASSWORD"), Environment.GetEnvironmentVariable("PGPASSFILE"));
        try
        {
            Environment.SetEnvironmentVariable("PGPASSWORD", null);
            Environment.SetEnvironmentVariable("PGPASSFILE", Path.Combine(_temp.Folder, "no-such-pgpass"));
            LlmTask task;
            using (var store = TaskStore.Open(_temp.Path)) // Password=… in the connection string
            {
                task = store.Insert(Managers.Request("piped on"), "mock", null, null);
            }

            Assert.DoesNotContain(PostgresServer.Password, task.StorePath);
            using var again = TaskStore.Open(task.StorePath); // as Get-LlmTask | Wait-LlmTask opens it
            Assert.Equal("piped on", again.Get(task.Id)!.Prompt);

            var other = Server.CreateDatabase(); // a store this process was given no password for is still refused
            try
            {
                Assert.Equal(ErrorIds.StoreAccessDenied, Assert.Throws<LlmTasksException>(() => TaskStore.Open(Server.Uri(other)).Dispose()).ErrorId);
            }
            finally
            {
                Server.DropDatabase(other);
            }
        }
        finally
        {
            Environment.SetEnvironmentVariable("PGPASSWORD", saved.Item1);
            Environment.SetEnvironmentVariable("PGPASSFILE", saved.Item2);
        }
    }

    [Fact]
    public void A_reference_that_does_not_read_is_refused_with_its_own_error_and_never_echoes_a_password()
    {
        foreach (var bad in new[] { "postgres://u:secret-in-uri-123@/db", "postgres://u:secret-in-uri-123@host/db?frobnicate=1", "postgres://u:secret-in-uri-123@host/db?sslmode=sometimes" })
        {
            var error = Assert.Throws<LlmTasksException>(() => StoreLocation.Resolve(bad));
            Assert.Equal((ErrorIds.InvalidStoreReference, LlmErrorCategory.InvalidArgument), (error.ErrorId, error.Category));
            Assert.DoesNotContain("secret-in-uri-123", error.Message);
        }
    }

    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public void The_password_comes_from_the_reference_else_PGPASSWORD_else_the_password_file_and_a_refused_login_says_where_it_looked()
    {
        var uri = Server.Uri(Database); // no password in it
        var passFile = Path.Combine(_temp.Folder, "pgpass");
        var saved = (Environment.GetEnvironmentVariable("PGPASSWORD"), Environment.GetEnvironmentVariable("PGPASSFILE"));
        try
        {
            Environment.SetEnvironmentVariable("PGPASSWORD", null);
            Environment.SetEnvironmentVariable("PGPASSFILE", passFile);

            // Nowhere: the login is refused, with its own error, saying where a password may come from.
            var refused = Assert.Throws<LlmTasksException>(() => TaskStore.Open(uri).Dispose());
            Assert.True((ErrorIds.StoreAccessDenied, LlmErrorCategory.PermissionDenied) == (refused.ErrorId, refused.Category), refused.Message + " / " + refused.InnerException);
            Assert.Contains("$env:PGPASSWORD", refused.Message);
            Assert.Contains(_temp.Display, refused.Message);

            // The password file, as libpq reads it: the first matching line, escapes, wildcards; only when others may not read it.
            File.WriteAllText(passFile, $"# comment\notherhost:*:*:*:nope\n{Server.Host}:{Server.Port}:*:{PostgresServer.User}:{PostgresServer.Password.Replace(":", "\\:")}\n");
            File.SetUnixFileMode(passFile, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead);
            var ignored = Assert.Throws<LlmTasksException>(() => TaskStore.Open(uri).Dispose());
            Assert.Equal(ErrorIds.StoreAccessDenied, ignored.ErrorId);
            Assert.Contains("was ignored: others may read it", ignored.Message);
            File.SetUnixFileMode(passFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            using (var fromFile = TaskStore.Open(uri))
            {
                Assert.False(fromFile.IsReadOnly);
            }

            // $env:PGPASSWORD wins over the file; a password in the reference wins over both.
            File.WriteAllText(passFile, "*:*:*:*:wrong-password-from-file\n");
            Environment.SetEnvironmentVariable("PGPASSWORD", PostgresServer.Password);
            using (TaskStore.Open(uri))
            {
            }

            Environment.SetEnvironmentVariable("PGPASSWORD", "wrong-password-from-env");
            using (TaskStore.Open(_temp.Path))
            {
            }

            var wrong = Assert.Throws<LlmTasksException>(() => TaskStore.Open(uri).Dispose());
            Assert.Equal(ErrorIds.StoreAccessDenied, wrong.ErrorId);
            Assert.DoesNotContain("wrong-password-from-env", wrong.Message);
        }
        finally
        {
            Environment.SetEnvironmentVariable("PGPASSWORD", saved.Item1);
            Environment.SetEnvironmentVariable("PGPASSFILE", saved.Item2);
        }
    }

    [Fact]
    public void An_unreachable_server_or_a_missing_database_is_a_clear_error_and_nothing_is_created()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var closedPort = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop(); // nothing listens there now

        var unreachable = Assert.Throws<LlmTasksException>(() => TaskStore.Open($"Host=127.0.0.1;Port={closedPort};Username=u;Password=not-shown-pw-77;Database=d"));
        Assert.Equal((ErrorIds.StoreUnavailable, LlmErrorCategory.ResourceUnavailable), (unreachable.ErrorId, unreachable.Category));
        Assert.Contains($"postgres://u@127.0.0.1:{closedPort}/d", unreachable.Message);
        Assert.Contains("cannot be reached", unreachable.Message);
        Assert.DoesNotContain("not-shown-pw-77", unreachable.Message);

        var missing = Server.ConnectionString("no_such_database_here");
        var error = Assert.Throws<LlmTasksException>(() => TaskStore.Open(missing));
        Assert.Equal(ErrorIds.StoreUnavailable, error.ErrorId);
        Assert.Contains("does not exist", error.Message);
        Assert.False(StoreLocation.Exists(StoreLocation.Resolve(missing)));
        Assert.False(StoreLocation.Exists(StoreLocation.Resolve(_temp.Path))); // an empty database is no store yet
        Assert.Empty(StorePeek.DistinctNames($"Host=127.0.0.1;Port={closedPort};Username=u;Password=p;Database=d", "")); // completion offers nothing
    }

    [Fact]
    public void A_new_store_gets_its_tables_in_the_llmtasks_schema_at_the_latest_version()
    {
        using (var store = TaskStore.Open(_temp.Path))
        {
            Assert.Equal(6, store.SchemaVersion);
            Assert.False(store.IsReadOnly);
        }

        var db = _temp.Inspector;
        Assert.Equal(6L, db.Scalar<long>("SELECT max(version) FROM llmtasks.schema_version"));
        Assert.Equal("attempts,batches,budgets,checks,schema_version,tasks", db.Scalar<string>("SELECT string_agg(table_name, ',' ORDER BY table_name) FROM information_schema.tables WHERE table_schema = 'llmtasks'"));
        Assert.Equal(0L, db.Scalar<long>("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"));
        Assert.True(db.Scalar<long>("SELECT count(*) FROM pg_indexes WHERE schemaname = 'llmtasks' AND indexname LIKE 'ix_%'") >= 7);
        Assert.True(StoreLocation.Exists(StoreLocation.Resolve(_temp.Path)));

        using (TaskStore.Open(_temp.Path)) // again: nothing to migrate
        {
        }

        Assert.Equal(6L, db.Scalar<long>("SELECT count(*) FROM llmtasks.schema_version"));
    }

    [Fact]
    public async Task Stores_opened_at_once_by_many_processes_migrate_once()
    {
        var opened = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => Task.Run(() => TaskStore.Open(_temp.Path))));
        foreach (var store in opened)
        {
            store.Dispose();
        }

        Assert.Equal(6L, _temp.Inspector.Scalar<long>("SELECT count(*) FROM llmtasks.schema_version"));
    }

    [Fact]
    public void A_role_that_may_only_read_lists_tasks_but_changes_nothing()
    {
        long id;
        using (var store = TaskStore.Open(_temp.Path))
        {
            id = store.Insert(Managers.Request("read me"), "mock", null, null).Id;
        }

        var role = "reader_" + Database;
        Server.Admin($"CREATE ROLE {role} LOGIN PASSWORD 'reader-password-9f'");
        Server.Admin($"GRANT USAGE ON SCHEMA llmtasks TO {role}; GRANT SELECT ON ALL TABLES IN SCHEMA llmtasks TO {role};", Database);
        try
        {
            var before = _temp.Inspector.Fingerprint();
            using (var readOnly = TaskStore.Open($"Host={Server.Host};Port={Server.Port};Username={role};Password=reader-password-9f;Database={Database}"))
            {
                Assert.True(readOnly.IsReadOnly);
                Assert.Contains($"the role {role} may only read", readOnly.ReadOnlyReason);
                Assert.Equal("read me", readOnly.Get(id)!.Prompt);
                var error = Assert.Throws<LlmTasksException>(() => readOnly.Insert(Managers.Request("no"), "mock", null, null));
                Assert.Equal((ErrorIds.StoreReadOnly, LlmErrorCategory.PermissionDenied), (error.ErrorId, error.Category));
            }

            using (var manager = Managers.Open($"Host={Server.Host};Port={Server.Port};Username={role};Password=reader-password-9f;Database={Database}"))
            {
                Assert.Equal(ErrorIds.StoreReadOnly, Assert.Throws<LlmTasksException>(() => manager.Start(Managers.Request("no"))).ErrorId);
                Assert.Single(manager.Store.Query(TaskQuery.All));
            }

            Assert.Equal(before, _temp.Inspector.Fingerprint());
        }
        finally
        {
            Server.Admin($"REVOKE ALL ON ALL TABLES IN SCHEMA llmtasks FROM {role}; REVOKE USAGE ON SCHEMA llmtasks FROM {role};", Database);
            Server.Admin($"DROP ROLE {role}");
        }
    }

    [Fact]
    public void Reading_a_store_through_a_manager_writes_nothing_and_starts_no_thread()
    {
        using (var store = TaskStore.Open(_temp.Path))
        {
            store.Insert(Managers.Request("left over"), "mock", owner: null, leaseMs: null);
        }

        var before = _temp.Inspector.Fingerprint();
        using (var manager = Managers.Open(_temp.Path))
        {
            var task = Assert.Single(manager.Store.Query(TaskQuery.All));
            Assert.Empty(manager.Store.GetAttempts(task.Id));
            Assert.Empty(manager.Store.GetChecks([task.Id]));
            Assert.Equal(["mock/echo"], StorePeek.DistinctModels(_temp.Path, "MOCK")); // what completion reads
            _ = manager.Store.LeaseHolders();
            Thread.Sleep(300);
            Assert.False(manager.IsRunning);
        }

        Assert.Equal(before, _temp.Inspector.Fingerprint()); // every row as it was, not even rewritten with the same values
    }

    [Fact]
    public void Leases_are_on_the_servers_clock_so_a_client_whose_clock_runs_ahead_takes_over_no_live_lease()
    {
        var release = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var held = new ScriptedProvider { Behaviour = (_, _) => release.Task };
        var options = new TaskManagerOptions { Lease = TimeSpan.FromSeconds(30) };
        using var holder = Managers.Open(_temp.Path, options, held);
        var id = holder.Start(Managers.Request("mine", "test/x")).Id;
        Assert.True(SpinWait.SpinUntil(() => held.Calls == 1 && holder.Store.Get(id)!.State == LlmTaskState.Running, TimeSpan.FromSeconds(30)));

        // Another machine whose clock is two hours fast: by its own clock every lease here ran out long ago.
        var fast = new FakeTimeProvider(DateTimeOffset.UtcNow.AddHours(2));
        var other = new ScriptedProvider();
        using var ahead = Managers.Open(_temp.Path, options with { Store = new StoreOptions { Time = fast } }, other);
        Assert.InRange(ahead.Store.NowMs - DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), -60_000, 60_000); // it tells the server's time
        using var worker = ahead.StartWorker();
        using var watch = ahead.Watch([id]);
        Assert.True(SpinWait.SpinUntil(() => watch.HeldElsewhere.Count == 1, TimeSpan.FromSeconds(30)), "the wait should see the live lease");
        Thread.Sleep(500);
        Assert.Equal(0, other.Calls);
        Assert.Equal(holder.Owner, ahead.Store.Get(id)!.Owner);

        var added = ahead.Start(Managers.Request("stamped by the server", "test/x"));
        Assert.InRange((added.CreatedAt.ToUniversalTime() - DateTime.UtcNow).TotalMinutes, -1, 1); // not two hours ahead
        release.SetResult("done by the holder");
        Assert.Equal("done by the holder", Managers.WaitAll(ahead, [id]).Single().Output);
    }

    [Fact]
    public void A_call_slot_is_free_when_the_call_returns_not_when_its_Running_mark_is_committed()
    {
        var provider = new ScriptedProvider();
        using var manager = Managers.Open(_temp.Path, new TaskManagerOptions { Concurrency = 1 }, provider); // creates the schema

        // Every Running mark waits for a lock this test holds, so no mark commits until the test lets go.
        Server.Admin("""
            CREATE FUNCTION hold_running_marks() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                PERFORM pg_advisory_xact_lock_shared(4242);
                RETURN NEW;
            END $$;
            CREATE TRIGGER held_marks BEFORE UPDATE ON tasks FOR EACH ROW
                WHEN (NEW.state = 'Running' AND OLD.state = 'Pending') EXECUTE FUNCTION hold_running_marks();
            """, Database);
        var ids = new List<long>();
        using (var gate = new Npgsql.NpgsqlConnection(_temp.Path + ";Pooling=false"))
        {
            gate.Open();
            using (var take = new Npgsql.NpgsqlCommand("SELECT pg_advisory_lock(4242)", gate))
            {
                take.ExecuteNonQuery();
            }

            ids.AddRange(Enumerable.Range(0, 5).Select(i => manager.Start(Managers.Request($"quick {i}", "test/x")).Id));

            // -ThrottleLimit 1 counts calls: each returns at once, so the next one starts while the marks wait.
            // (Held until its mark committed, one slot allowed one call per commit: here, one call in all.)
            Assert.True(SpinWait.SpinUntil(() => provider.Calls == 5, TimeSpan.FromSeconds(30)), $"{provider.Calls} of 5 calls while the first Running mark waited for its commit");
            Assert.Equal(1, provider.MaxInFlight);
            Assert.All(ids, id => Assert.Equal(LlmTaskState.Pending, manager.Store.Get(id)!.State));
        } // the lock goes with the session

        var done = Managers.WaitAll(manager, ids);
        Assert.All(done, t => Assert.Equal((LlmTaskState.Completed, t.Prompt), (t.State, t.Output)));
        Assert.All(ids, id => Assert.Equal(LlmAttemptOutcome.Succeeded, manager.Store.GetAttempts(id).Single().Outcome));
    }

    [Fact]
    public void An_idle_worker_wakes_when_another_process_adds_work_without_waiting_for_its_poll()
    {
        // A poll and a heartbeat an hour apart: only a notification can get the worker going.
        var slow = new TaskManagerOptions { Lease = TimeSpan.FromHours(3), PollInterval = TimeSpan.FromHours(1) };
        var provider = new ScriptedProvider();
        using var manager = TaskManager.Open(_temp.Path, slow, new LlmTasks.Providers.ProviderRegistry([new LlmTasks.Providers.Mock.MockProvider(), provider]));
        using var worker = manager.StartWorker();
        Assert.True(SpinWait.SpinUntil(() => worker.IsEmpty, TimeSpan.FromSeconds(30)), "the first pass finds nothing");

        List<long> ids;
        using (var elsewhere = TaskStore.Open(_temp.Path))
        {
            ids = Enumerable.Range(0, 5).Select(i => elsewhere.Insert(Managers.Request($"new {i}", "test/x"), "test", owner: null, leaseMs: null).Id).ToList();
        }

        Assert.True(SpinWait.SpinUntil(() => worker.Completed == 5, TimeSpan.FromSeconds(60)), $"the worker ran {worker.Completed} of 5");
        Assert.Equal(5, provider.Calls);
    }

    [Fact]
    public void A_stop_from_another_process_reaches_a_running_call_at_once_not_at_its_next_heartbeat()
    {
        // Leases of three hours: the holder's heartbeat is an hour away, so only the notification can stop the call.
        var provider = new ScriptedProvider { Behaviour = async (p, ct) => { await Task.Delay(Timeout.Infinite, ct); return p; } };
        var options = new TaskManagerOptions { Lease = TimeSpan.FromHours(3) };
        using var runner = Managers.Open(_temp.Path, options, provider);
        var id = runner.Start(Managers.Request("stop me", "test/x")).Id;
        Assert.True(SpinWait.SpinUntil(() => provider.Calls == 1 && runner.Store.Get(id)!.State == LlmTaskState.Running, TimeSpan.FromSeconds(30)));

        using var other = Managers.Open(_temp.Path, options);
        Assert.Equal([id], other.Stop([id]).RequestedElsewhere);
        var done = Managers.WaitAll(other, [id], seconds: 60).Single();
        Assert.Equal((LlmTaskState.Cancelled, "Cancelled"), (done.State, done.ErrorKind));
        Assert.Equal(LlmAttemptOutcome.Cancelled, other.Store.GetAttempts(id).Single().Outcome);
    }

    [Fact]
    public void Text_with_a_NUL_character_is_stored_with_a_replacement_character()
    {
        using var manager = Managers.Open(_temp.Path);
        var done = Managers.WaitAll(manager, [manager.Start(Managers.Request("before\0after")).Id]).Single();
        Assert.Equal((LlmTaskState.Completed, "before\uFFFDafter"), (done.State, done.Prompt));
    }

    [Fact]
    public void Repair_copies_a_SQLite_store_into_a_PostgreSQL_database_and_back_with_ids_and_rows_kept()
    {
        using var file = new TempStore();
        List<long> ids;
        using (var manager = Managers.Open(file.Path))
        {
            ids = Enumerable.Range(0, 40).Select(i => manager.Start(Managers.Request($"move me {i}", name: $"m{i}")).Id).ToList();
            Managers.WaitAll(manager, ids);
            manager.Store.Delete([ids[3]]); // a gap in the ids
            manager.Store.RecordChecks(ids[5], [new LlmTasks.Verification.LlmCheckResult { Index = 0, Type = "NotEmpty", Passed = true }]);
        }

        var toPostgres = StoreRecovery.Recover(file.Path, _temp.Path);
        Assert.Equal((39, 0, 39, 0, 1, 0), (toPostgres.TasksRecovered, toPostgres.TasksLost, toPostgres.AttemptsRecovered, toPostgres.AttemptsLost, toPostgres.ChecksRecovered, toPostgres.ChecksLost));
        Assert.Equal(_temp.Display, toPostgres.Destination);
        Assert.Equal(ErrorIds.StoreExists, Assert.Throws<LlmTasksException>(() => StoreRecovery.Recover(file.Path, _temp.Path)).ErrorId); // never over a store

        using (var moved = TaskStore.Open(_temp.Path))
        {
            Assert.Equal(ids.Where(i => i != ids[3]), moved.Query(TaskQuery.All).Select(t => t.Id));
            Assert.Equal("move me 7", moved.Get(ids[7])!.Output);
            Assert.Equal("NotEmpty", Assert.Single(moved.GetChecks([ids[5]])[ids[5]]).Type);
            Assert.Equal(ids[^1] + 1, moved.Insert(Managers.Request("after the move"), "mock", null, null).Id); // the id counter is past the copied ids
        }

        var back = Path.Combine(file.Folder, "back.db");
        var toFile = StoreRecovery.Recover(_temp.Path, back);
        Assert.Equal((40, 0, 39, 1), (toFile.TasksRecovered, toFile.TasksLost, toFile.AttemptsRecovered, toFile.ChecksRecovered));
        using var again = TaskStore.Open(back);
        Assert.Equal("move me 7", again.Get(ids[7])!.Output);
    }
}

/// <summary>A server of its own (restarting the shared one would cut off other tests): a restart mid-run costs no task and runs none twice.</summary>
public sealed class PostgresRestartTests : IDisposable
{
    private readonly PostgresServer _server = new();

    public void Dispose() => _server.Dispose();

    [Fact]
    public void A_server_restart_mid_run_loses_no_task_and_completes_none_twice()
    {
        var database = _server.CreateDatabase();
        var provider = new ScriptedProvider { Behaviour = async (p, ct) => { await Task.Delay(40, ct); return p; } };
        // A short lease: a write lost with the connection (its commit answer never came) is run again once the lease runs out.
        using var manager = Managers.Open(_server.ConnectionString(database), new TaskManagerOptions { Concurrency = 16, Lease = TimeSpan.FromSeconds(3) }, provider);
        var ids = Enumerable.Range(0, 300).Select(i => manager.Start(Managers.Request($"restart {i}", "test/x")).Id).ToList();
        Assert.True(SpinWait.SpinUntil(() => manager.Store.Query(new TaskQuery { States = [LlmTaskState.Completed] }).Count >= 30, TimeSpan.FromSeconds(60)));

        var clock = Stopwatch.StartNew();
        _server.Restart(); // every session is cut off mid-run
        var done = Managers.WaitAll(manager, ids, seconds: 180);
        Assert.All(done, t => Assert.Equal(LlmTaskState.Completed, t.State));

        var db = new StoreInspector(_server.ConnectionString(database));
        Assert.Equal(300L, db.Scalar<long>("SELECT count(*) FROM tasks WHERE state = 'Completed' AND output = prompt"));
        Assert.Equal(0L, db.Scalar<long>("SELECT count(*) FROM (SELECT task_id FROM attempts WHERE outcome = 'Succeeded' GROUP BY task_id HAVING count(*) <> 1) AS twice"));
        Assert.Equal(300L, db.Scalar<long>("SELECT count(DISTINCT task_id) FROM attempts WHERE outcome = 'Succeeded'"));
        Assert.Equal("ok", db.IntegrityCheck());
        Assert.True(clock.Elapsed > TimeSpan.Zero);
    }
}

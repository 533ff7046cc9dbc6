using Npgsql;

namespace LlmTasks.PowerShell.Tests;

/// <summary>
/// A burst of piped prompts shares commits however slow one commit is. Start-LlmTask writes a task only once it is
/// stored; input that comes slowly waits for its own commit, a burst does not. Measured on a PostgreSQL store whose
/// inserts are made slow on purpose (a statement trigger that sleeps 5 ms): every transaction that inserts tasks is
/// logged with its id, so the test counts the commits the prompts took.
/// </summary>
public sealed class StartBurstTests
{
    [Fact]
    public void A_burst_of_piped_prompts_shares_commits_when_each_commit_is_slower_than_the_input()
    {
        var database = PostgresServer.Shared.CreateDatabase();
        try
        {
            var store = PostgresServer.Shared.ConnectionString(database);
            var import = $"Import-Module '{Repo.ModuleManifest}'; ";
            var first = Pwsh.Command(import + "'schema' | Start-LlmTask -Model mock/echo | Wait-LlmTask | Out-Null", store);
            Assert.True(first.ExitCode == 0, first.Output + first.Errors);
            PostgresServer.Shared.Admin("""
                CREATE TABLE insert_log (tx bigint NOT NULL);
                CREATE FUNCTION log_insert() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    INSERT INTO insert_log VALUES (txid_current());
                    PERFORM pg_sleep(0.005);
                    RETURN NULL;
                END $$;
                CREATE TRIGGER slow_inserts AFTER INSERT ON tasks FOR EACH STATEMENT EXECUTE FUNCTION log_insert();
                """, database);

            const int prompts = 300;
            var burst = Pwsh.Command(import + $"$t = 1..{prompts} | ForEach-Object {{ \"prompt $_\" }} | Start-LlmTask -Model mock/echo; $t.Count", store, timeoutSeconds: 300);
            Assert.True(burst.ExitCode == 0, burst.Output + burst.Errors);
            Assert.Equal(prompts.ToString(System.Globalization.CultureInfo.InvariantCulture), burst.Output.Trim());

            using var connection = new NpgsqlConnection(store + ";Pooling=false");
            connection.Open();
            using var count = new NpgsqlCommand("SELECT count(DISTINCT tx), (SELECT count(*) FROM tasks) FROM insert_log", connection);
            using var reader = count.ExecuteReader();
            reader.Read();
            var commits = reader.GetInt64(0);
            Assert.Equal(prompts + 1, reader.GetInt64(1));
            // One commit per prompt (300) is what the input-speed rule did when it counted its own wait as the input's.
            Assert.True(commits <= prompts / 5, $"{prompts} piped prompts took {commits} commits");
        }
        finally
        {
            PostgresServer.Shared.DropDatabase(database);
        }
    }
}

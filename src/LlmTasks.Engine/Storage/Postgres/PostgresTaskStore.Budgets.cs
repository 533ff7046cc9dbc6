using Npgsql;

namespace LlmTasks.Storage.Postgres;

/// <summary>Budgets (migration 6) and the spend they are checked against: see <see cref="IBudgetStore"/>.</summary>
internal sealed partial class PostgresTaskStore
{
    private const string ReleaseBudgetHolds = """
        UPDATE tasks SET lease_owner = NULL, lease_expires_at = NULL
        WHERE state = 'Pending' AND lease_owner LIKE 'budget:%'
        """;

    public IReadOnlyList<BudgetRow> GetBudgets() => Read(connection =>
    {
        using var command = new NpgsqlCommand("SELECT id, scope, period, max_cost_nanousd FROM budgets ORDER BY scope_key, period", connection);
        using var reader = command.ExecuteReader();
        var rows = new List<BudgetRow>();
        while (reader.Read())
        {
            rows.Add(new BudgetRow(reader.GetInt64(0), reader.GetString(1), reader.GetString(2), NanoUsd.ToUsd(reader.GetInt64(3))));
        }

        return (IReadOnlyList<BudgetRow>)rows;
    });

    public BudgetRow SetBudget(string scope, string period, decimal maxCostUsd) => Write(tx =>
    {
        BudgetRow row;
        using (var command = tx.Command($"""
            INSERT INTO budgets (scope, scope_key, period, max_cost_nanousd, updated_at) VALUES (@scope, lower(@scope), @period, @cap, {Now})
            ON CONFLICT (scope_key, period) DO UPDATE SET scope = excluded.scope, max_cost_nanousd = excluded.max_cost_nanousd, updated_at = excluded.updated_at
            RETURNING id, scope, period, max_cost_nanousd
            """, Text("scope", scope), Text("period", period), Long("cap", NanoUsd.FromUsd(maxCostUsd))))
        using (var reader = command.ExecuteReader())
        {
            reader.Read();
            row = new BudgetRow(reader.GetInt64(0), reader.GetString(1), reader.GetString(2), NanoUsd.ToUsd(reader.GetInt64(3)));
        }

        using (var release = tx.Command(ReleaseBudgetHolds))
        {
            release.ExecuteNonQuery();
        }

        return row;
    }, StoreChange.TasksAdded);

    public bool RemoveBudget(string scope, string period) => Write(tx =>
    {
        using (var command = tx.Command("DELETE FROM budgets WHERE scope_key = lower(@scope) AND period = @period", Text("scope", scope), Text("period", period)))
        {
            if (command.ExecuteNonQuery() == 0)
            {
                return false;
            }
        }

        using var release = tx.Command(ReleaseBudgetHolds);
        release.ExecuteNonQuery();
        return true;
    }, StoreChange.TasksAdded);

    public IReadOnlyList<(string? Name, decimal CostUsd)> SpendByName(long sinceMs) => Read(connection =>
    {
        using var command = new NpgsqlCommand("""
            SELECT t.name, sum(a.cost_nanousd)::bigint FROM attempts a JOIN tasks t ON t.id = a.task_id
            WHERE a.started_at >= @since AND a.cost_nanousd IS NOT NULL
            GROUP BY t.name
            """, connection);
        command.Parameters.Add(Long("since", sinceMs));
        using var reader = command.ExecuteReader();
        var rows = new List<(string?, decimal)>();
        while (reader.Read())
        {
            rows.Add((reader.IsDBNull(0) ? null : reader.GetString(0), NanoUsd.ToUsd(reader.GetInt64(1))));
        }

        return (IReadOnlyList<(string?, decimal)>)rows;
    });

    public LlmTask? HoldTask(long id, string owner, string holdOwner, long holdMs, string reason) => Write(tx =>
    {
        using var command = tx.Command($"""
            UPDATE tasks SET lease_owner = @hold, lease_expires_at = {Now} + @ms, error = @reason, error_kind = 'BudgetHold'
            WHERE id = @id AND state = 'Pending' AND {HeldBy} AND cancel_requested = 0
            RETURNING {TaskColumns}
            """, Text("hold", holdOwner), Long("ms", holdMs), Text("reason", reason), Long("id", id), Text("owner", owner));
        return ReadTasks(command).FirstOrDefault();
    });
}

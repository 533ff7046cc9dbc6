using Microsoft.Data.Sqlite;

namespace LlmTasks.Storage.Sqlite;

/// <summary>Budgets (migration 6) and the spend they are checked against: see <see cref="IBudgetStore"/>.</summary>
internal sealed partial class SqliteTaskStore
{
    private const string ReleaseBudgetHolds = """
        UPDATE tasks SET lease_owner = NULL, lease_expires_at = NULL
        WHERE state = 'Pending' AND lease_owner LIKE 'budget:%'
        """;

    public IReadOnlyList<BudgetRow> GetBudgets() => Read(connection =>
    {
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT id, scope, period, max_cost_nanousd FROM budgets ORDER BY scope, period";
        using var reader = command.ExecuteReader();
        var rows = new List<BudgetRow>();
        while (reader.Read())
        {
            rows.Add(new BudgetRow(reader.GetInt64(0), reader.GetString(1), reader.GetString(2), NanoUsd.ToUsd(reader.GetInt64(3))));
        }

        return rows;
    });

    public BudgetRow SetBudget(string scope, string period, decimal maxCostUsd) => Write((connection, transaction) =>
    {
        var command = Prepared(connection, transaction, """
            INSERT INTO budgets (scope, period, max_cost_nanousd, updated_at) VALUES ($scope, $period, $cap, $now)
            ON CONFLICT (scope, period) DO UPDATE SET scope = excluded.scope, max_cost_nanousd = excluded.max_cost_nanousd, updated_at = excluded.updated_at
            RETURNING id, scope, period, max_cost_nanousd
            """);
        Bind(command, "$scope", scope);
        Bind(command, "$period", period);
        Bind(command, "$cap", NanoUsd.FromUsd(maxCostUsd));
        Bind(command, "$now", NowMs);
        BudgetRow row;
        using (var reader = command.ExecuteReader())
        {
            reader.Read();
            row = new BudgetRow(reader.GetInt64(0), reader.GetString(1), reader.GetString(2), NanoUsd.ToUsd(reader.GetInt64(3)));
        }

        Prepared(connection, transaction, ReleaseBudgetHolds).ExecuteNonQuery();
        return row;
    });

    public bool RemoveBudget(string scope, string period) => Write((connection, transaction) =>
    {
        var command = Prepared(connection, transaction, "DELETE FROM budgets WHERE scope = $scope AND period = $period");
        Bind(command, "$scope", scope);
        Bind(command, "$period", period);
        if (command.ExecuteNonQuery() == 0)
        {
            return false;
        }

        Prepared(connection, transaction, ReleaseBudgetHolds).ExecuteNonQuery();
        return true;
    });

    public IReadOnlyList<(string? Name, decimal CostUsd)> SpendByName(long sinceMs) => Read(connection =>
    {
        using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT t.name, sum(a.cost_nanousd) FROM attempts a JOIN tasks t ON t.id = a.task_id
            WHERE a.started_at >= $since AND a.cost_nanousd IS NOT NULL
            GROUP BY t.name
            """;
        command.Parameters.AddWithValue("$since", sinceMs);
        using var reader = command.ExecuteReader();
        var rows = new List<(string?, decimal)>();
        while (reader.Read())
        {
            rows.Add((reader.IsDBNull(0) ? null : reader.GetString(0), NanoUsd.ToUsd(reader.GetInt64(1))));
        }

        return rows;
    });

    public LlmTask? HoldTask(long id, string owner, string holdOwner, long holdMs, string reason) => Write((connection, transaction) =>
    {
        var now = NowMs;
        var command = Prepared(connection, transaction, $"""
            UPDATE tasks SET lease_owner = $hold, lease_expires_at = $until, error = $reason, error_kind = 'BudgetHold'
            WHERE id = $id AND state = 'Pending' AND lease_owner = $owner AND cancel_requested = 0
            RETURNING {TaskColumns}
            """);
        Bind(command, "$hold", holdOwner);
        Bind(command, "$until", now + holdMs);
        Bind(command, "$reason", reason);
        Bind(command, "$id", id);
        Bind(command, "$owner", owner);
        return ReadTasks(command).FirstOrDefault();
    });
}

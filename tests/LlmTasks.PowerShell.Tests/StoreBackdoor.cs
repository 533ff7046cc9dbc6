using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;

namespace LlmTasks.PowerShell.Tests;

/// <summary>
/// Writes to a store behind the module's back, as anyone with write access to it could (sqlite3 on the file; psql on a
/// shared PostgreSQL store): the tampering the trust tests make. Tests take the backend's name as a theory argument, so a
/// new backend joins them by adding itself to <see cref="Names"/> and a case here.
/// </summary>
internal sealed class StoreBackdoor(string backend, string location)
{
    public static TheoryData<string> Names => ["sqlite"];

    /// <summary>Edits the stored request of the task with this name (exactly one).</summary>
    public void EditRequest(string name, Action<JsonObject> edit)
    {
        var json = JsonNode.Parse(Scalar("SELECT request_json FROM tasks WHERE name = $name", ("$name", name)))!.AsObject();
        edit(json);
        Assert.Equal(1, Execute("UPDATE tasks SET request_json = $json WHERE name = $name", ("$json", json.ToJsonString()), ("$name", name)));
    }

    /// <summary>The provider options of a request being edited (made if it has none).</summary>
    public static JsonObject OptionsOf(JsonObject request) =>
        request["providerOptions"] as JsonObject ?? (JsonObject)(request["providerOptions"] = new JsonObject());

    public int Execute(string sql, params (string Name, object Value)[] parameters)
    {
        using var connection = Connect();
        using var command = Command(connection, sql, parameters);
        return command.ExecuteNonQuery();
    }

    public string Scalar(string sql, params (string Name, object Value)[] parameters)
    {
        using var connection = Connect();
        using var command = Command(connection, sql, parameters);
        return Convert.ToString(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture)!;
    }

    private SqliteConnection Connect()
    {
        Assert.Equal("sqlite", backend);
        var connection = new SqliteConnection($"Data Source={location};Pooling=False");
        connection.Open();
        return connection;
    }

    private static SqliteCommand Command(SqliteConnection connection, string sql, (string Name, object Value)[] parameters)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }

        return command;
    }
}

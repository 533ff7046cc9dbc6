using System.Text.Json.Nodes;
using LlmTasks.Execution;
using LlmTasks.Providers;
using LlmTasks.Tests.Doubles;
using Microsoft.Data.Sqlite;

namespace LlmTasks.Tests.Security;

/// <summary>
/// A store backend the trust tests run against, with a back door that edits a task's stored request the way someone with
/// write access to the store would (sqlite3 on the file; psql on a shared PostgreSQL store), bypassing the engine. The tests
/// take the backend's name as a theory argument: a new backend joins them by adding itself to <see cref="Names"/>.
/// </summary>
public abstract class StoreBackend : IDisposable
{
    public static TheoryData<string> Names => ["sqlite"];

    public static StoreBackend Create(string name) => name switch
    {
        "sqlite" => new SqliteBackend(),
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, "no such store backend in the tests"),
    };

    /// <summary>A task manager on the store, as any process of the same user would open it.</summary>
    internal abstract TaskManager Open(TaskManagerOptions options, params IChatClientProvider[] providers);

    /// <summary>The request JSON as stored.</summary>
    public abstract string RequestJson(long id);

    /// <summary>Replaces the stored request JSON, as a direct write to the store would.</summary>
    public abstract void WriteRequestJson(long id, string json);

    /// <summary>Edits the stored request JSON in place.</summary>
    public void EditRequest(long id, Action<JsonObject> edit)
    {
        var json = JsonNode.Parse(RequestJson(id))!.AsObject();
        edit(json);
        WriteRequestJson(id, json.ToJsonString());
    }

    public abstract void Dispose();
}

internal sealed class SqliteBackend : StoreBackend
{
    private readonly TempStore _temp = new();

    internal override TaskManager Open(TaskManagerOptions options, params IChatClientProvider[] providers) => Managers.Open(_temp.Path, options, providers);

    public override string RequestJson(long id)
    {
        using var connection = Connect();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT request_json FROM tasks WHERE id = $id";
        command.Parameters.AddWithValue("$id", id);
        return (string)command.ExecuteScalar()!;
    }

    public override void WriteRequestJson(long id, string json)
    {
        using var connection = Connect();
        using var command = connection.CreateCommand();
        command.CommandText = "UPDATE tasks SET request_json = $json WHERE id = $id";
        command.Parameters.AddWithValue("$id", id);
        command.Parameters.AddWithValue("$json", json);
        Assert.Equal(1, command.ExecuteNonQuery());
    }

    private SqliteConnection Connect()
    {
        var connection = new SqliteConnection($"Data Source={_temp.Path};Pooling=False");
        connection.Open();
        return connection;
    }

    public override void Dispose() => _temp.Dispose();
}

using Microsoft.Data.Sqlite;

namespace LlmTasks.PowerShell.Tests;

/// <summary>Reads a store file directly, as an auditor would: counts, integrity, raw bytes.</summary>
internal sealed class StoreInspector(string path)
{
    public T Scalar<T>(string sql)
    {
        using var connection = new SqliteConnection($"Data Source={path};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return (T)Convert.ChangeType(command.ExecuteScalar()!, typeof(T));
    }

    public string IntegrityCheck() => Scalar<string>("PRAGMA integrity_check");
}

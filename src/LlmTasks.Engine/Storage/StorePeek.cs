using Microsoft.Data.Sqlite;

namespace LlmTasks.Storage;

/// <summary>
/// Reads values from a store file for argument completion (Tab on -Model and -Name) without opening it
/// for work: one read-only connection, no migration, no task manager, so nothing is claimed or run and a
/// missing, foreign or newer file simply offers nothing.
/// </summary>
public static class StorePeek
{
    public static IReadOnlyList<string> DistinctModels(string path, string prefix, int limit = 100) => Distinct(path, "model", prefix, limit);

    public static IReadOnlyList<string> DistinctNames(string path, string prefix, int limit = 100) => Distinct(path, "name", prefix, limit);

    private static IReadOnlyList<string> Distinct(string path, string column, string prefix, int limit)
    {
        if (!File.Exists(path))
        {
            return [];
        }

        try
        {
            var builder = new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadOnly, Pooling = false, DefaultTimeout = 2 };
            using var connection = new SqliteConnection(builder.ConnectionString);
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'tasks'";
            if (Convert.ToInt64(command.ExecuteScalar()) == 0)
            {
                return [];
            }

            // The column is one of two fixed names, never input.
            command.CommandText = $"SELECT DISTINCT {column} FROM tasks WHERE {column} LIKE $prefix ESCAPE '\\' ORDER BY {column} LIMIT $limit";
            command.Parameters.AddWithValue("$prefix", Wildcard.LikePrefix(prefix) + "%");
            command.Parameters.AddWithValue("$limit", limit);
            using var reader = command.ExecuteReader();
            var values = new List<string>();
            while (reader.Read())
            {
                values.Add(reader.GetString(0));
            }

            return values;
        }
        catch (SqliteException)
        {
            return []; // locked past the timeout, corrupt, not a database: completion offers nothing
        }
    }
}

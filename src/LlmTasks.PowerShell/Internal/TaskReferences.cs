using System.Collections;
using System.Globalization;
using System.Management.Automation;

namespace LlmTasks.PowerShell.Internal;

/// <summary>
/// The task a piped object names. <paramref name="StorePath"/> is the object's own store (null: the
/// cmdlet's). <paramref name="TaskShaped"/> is false for an object that only has an Id property (a CSV
/// row, or any JSON with an "id" field): the cmdlets that change or delete tasks do not take those.
/// </summary>
internal sealed record TaskReference(object Source, string? StorePath, long? Id, Guid? InstanceId, bool TaskShaped, string? Name = null)
{
    public string Describe() => Name is not null ? $"Name '{Name}'" : InstanceId is { } instanceId ? $"InstanceId {instanceId}" : $"Id {Id}";
}

/// <summary>
/// Reads piped objects as task references, the way Get-Job users expect objects to bind: live task
/// objects; tasks that went through Export-Clixml/Import-Clixml, Start-Job/Receive-Job or Select-Object
/// (their type names end in LlmTasks.LlmTask); objects and hashtables with an InstanceId and/or Id
/// property (Import-Csv, ConvertFrom-Json), honouring a StorePath property; numbers (ids), GUIDs
/// (instance ids) and, for the task cmdlets, text (names, with wildcards).
/// </summary>
internal static class TaskReferences
{
    private const string TaskTypeName = "LlmTasks.LlmTask";

    /// <summary>A task object: live, or deserialized (Import-Clixml, Receive-Job). Rows (Import-Csv, Select-Object) are not.</summary>
    public static bool IsTaskObject(object? value) =>
        value is LlmTask
        || (value is PSObject wrapped && (wrapped.BaseObject is LlmTask
            || wrapped.TypeNames.Contains("Deserialized." + TaskTypeName)));

    /// <summary>
    /// The reference, or null with what is wrong (for an error naming the object). Text names tasks by
    /// name (wildcards) when <paramref name="textIsName"/>, as Get-LlmTask nightly* does.
    /// </summary>
    public static TaskReference? Read(object? input, out string? problem, bool textIsName = false)
    {
        problem = null;
        var wrapped = input as PSObject;
        var value = wrapped?.BaseObject ?? input;
        switch (value)
        {
            case null:
                problem = "$null is not a task";
                return null;
            case LlmTask task:
                return new TaskReference(input!, task.StorePath, task.Id, task.InstanceId, TaskShaped: true);
            case Guid instanceId:
                return new TaskReference(input!, null, null, instanceId, TaskShaped: true);
            case string text when textIsName && text.Length > 0:
                return new TaskReference(input!, null, null, null, TaskShaped: true, Name: text);
            case string text:
                problem = $"'{Shorten(text)}' is text, not a task; give ids with -Id and names with -Name";
                return null;
            case sbyte or byte or short or ushort or int or uint or long or ulong:
                return Id(value, out var number) ? new TaskReference(input!, null, number, null, TaskShaped: true) : Bad(out problem, $"{value} is not a task id");
        }

        var instanceText = Property(input!, "InstanceId");
        var idText = Property(input!, "Id");
        var storePath = Property(input!, "StorePath") is { } path && LanguagePrimitives.ConvertTo<string>(path) is { Length: > 0 } p ? p : null;
        Guid? guid = null;
        if (instanceText is not null && !BlankIsNotGivenAttribute.IsBlank(instanceText))
        {
            var raw = instanceText is PSObject w ? w.BaseObject : instanceText;
            if (raw is Guid g || Guid.TryParse(Convert.ToString(raw, CultureInfo.InvariantCulture), out g))
            {
                guid = g;
            }
            else
            {
                return Bad(out problem, $"its InstanceId '{raw}' is not a GUID");
            }
        }

        long? id = null;
        if (idText is not null && !BlankIsNotGivenAttribute.IsBlank(idText))
        {
            if (!Id(idText, out var number))
            {
                return Bad(out problem, $"its Id '{idText}' is not a task id (a positive whole number)");
            }

            id = number;
        }

        if (guid is null && id is null)
        {
            return Bad(out problem, $"a {ScalarText.TypeName(input)} with no Id or InstanceId property is not a task");
        }

        // Only an InstanceId names one task whatever the store: an Id alone (a Select-Object Id of tasks from
        // another store, or any JSON's "id") may name a different one.
        return new TaskReference(input!, storePath, id, guid, TaskShaped: guid is not null);
    }

    /// <summary>
    /// The store a reference names (null: the cmdlet's own): a full path, or a URI or connection string as given.
    /// A store that is not there is an error: opening it would create a new, empty one.
    /// </summary>
    public static string? StorePath(TaskReference reference, Func<string, string> resolveStore)
    {
        var store = reference.StorePath is null ? null : resolveStore(reference.StorePath);
        return store is null || Storage.StoreLocation.Exists(Storage.StoreLocation.Resolve(store, resolveStore)) ? store : throw StoreNotFound(reference, store);
    }

    public static LlmTasksException StoreNotFound(TaskReference reference, string path) =>
        new(ErrorRecords.StoreNotFound, LlmErrorCategory.ObjectNotFound,
            $"The store '{path}' of the task with {reference.Describe()} does not exist here; nothing was read or created. "
            + "Leave the StorePath property out (Select-Object -ExcludeProperty StorePath) to use -StorePath, or give the path where the store is.")
        { Target = reference.Source };

    /// <summary>The one task an id or instance id reference names in a store, read fresh; null when there is none.</summary>
    public static LlmTask? Find(Execution.TaskManager manager, TaskReference reference) =>
        manager.Store.Query(reference.InstanceId is { } instanceId
            ? new Storage.TaskQuery { InstanceIds = [instanceId] }
            : new Storage.TaskQuery { Ids = [reference.Id ?? throw new ArgumentException("A name names tasks, not one task.", nameof(reference))] }).FirstOrDefault();

    private static TaskReference? Bad(out string? problem, string text)
    {
        problem = text;
        return null;
    }

    private static object? Property(object input, string name)
    {
        var value = input is PSObject wrapped ? wrapped.BaseObject : input;
        if (value is IDictionary dictionary)
        {
            foreach (DictionaryEntry entry in dictionary)
            {
                if (string.Equals(entry.Key?.ToString(), name, StringComparison.OrdinalIgnoreCase))
                {
                    return entry.Value;
                }
            }

            return null;
        }

        return PSObject.AsPSObject(input).Properties[name]?.Value;
    }

    private static bool Id(object value, out long id)
    {
        value = value is PSObject wrapped ? wrapped.BaseObject : value;
        id = 0;
        var ok = value switch
        {
            sbyte or byte or short or ushort or int or uint or long => long.TryParse(Convert.ToString(value, CultureInfo.InvariantCulture), NumberStyles.Integer, CultureInfo.InvariantCulture, out id),
            ulong u => u <= long.MaxValue && (id = (long)u) >= 0,
            double d => d == Math.Floor(d) && d is >= 1 and <= long.MaxValue && (id = (long)d) > 0,
            decimal m => m == decimal.Floor(m) && m is >= 1 and <= long.MaxValue && (id = (long)m) > 0,
            string s => long.TryParse(s.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out id),
            _ => false,
        };
        return ok && id > 0;
    }

    private static string Shorten(string text) => text.Length <= 40 ? text : text[..39] + "…";
}

using System.Collections;
using System.Management.Automation;

namespace LlmTasks.PowerShell.Internal;

/// <summary>
/// -Messages entries to engine messages: hashtables (@{ role = 'user'; content = '…' }), objects with
/// role and content properties (ConvertFrom-Json, Import-Csv, a stored task's Request.Messages), keys
/// and property names in any case.
/// </summary>
internal static class MessageInput
{
    public static List<LlmMessage> ToMessages(IEnumerable<object?> messages) => messages.Select(ToMessage).ToList();

    public static LlmMessage ToMessage(object? message, int index)
    {
        var value = message is PSObject wrapped ? wrapped.BaseObject : message;
        if (value is LlmMessage ready)
        {
            return ready;
        }

        if (value is null or string || (value is not IDictionary && ScalarText.TryGet(value, out _)))
        {
            throw new LlmTasksException(ErrorIds.InvalidMessage, LlmErrorCategory.InvalidArgument,
                $"Message {index + 1} is {(value is null ? "$null" : $"the {ScalarText.TypeName(message)} '{value}'")}, not a message: write each as @{{role='user'; content='…'}}.") { Target = message };
        }

        var role = Value(message!, "role");
        var content = Value(message!, "content");
        if (!Enum.TryParse<LlmRole>(role, ignoreCase: true, out var parsed) || !Enum.IsDefined(parsed) || int.TryParse(role, out _))
        {
            throw new LlmTasksException(ErrorIds.InvalidMessage, LlmErrorCategory.InvalidArgument,
                $"Message {index + 1} has role '{role}': use system, user or assistant, as in @{{role='user'; content='…'}}.") { Target = message };
        }

        if (content is null)
        {
            throw new LlmTasksException(ErrorIds.InvalidMessage, LlmErrorCategory.InvalidArgument,
                $"Message {index + 1} has no content: write it as @{{role='{role}'; content='…'}}.") { Target = message };
        }

        return new LlmMessage(parsed, content);
    }

    /// <summary>True for an object that looks like one message (role and content), to point a user who piped a conversation at -Messages.</summary>
    public static bool LooksLikeMessage(object input) => Value(input, "role") is not null && Value(input, "content") is not null;

    private static string? Value(object message, string key)
    {
        var value = message is PSObject wrapped ? wrapped.BaseObject : message;
        if (value is IDictionary dictionary)
        {
            foreach (DictionaryEntry entry in dictionary)
            {
                if (string.Equals(entry.Key?.ToString(), key, StringComparison.OrdinalIgnoreCase))
                {
                    return LanguagePrimitives.ConvertTo<string>(entry.Value);
                }
            }

            return null;
        }

        return PSObject.AsPSObject(message).Properties[key]?.Value is { } property ? LanguagePrimitives.ConvertTo<string>(property) : null;
    }
}

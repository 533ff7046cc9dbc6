using System.Collections;
using System.Management.Automation;

namespace LlmTasks.PowerShell.Internal;

/// <summary>-Messages entries: @{ role = 'user'; content = '…' } (keys in any case) to engine messages.</summary>
internal static class MessageHashtable
{
    public static LlmMessage ToMessage(Hashtable message, int index)
    {
        var role = Value(message, "role");
        var content = Value(message, "content");
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

    private static string? Value(Hashtable message, string key)
    {
        foreach (DictionaryEntry entry in message)
        {
            if (string.Equals(entry.Key?.ToString(), key, StringComparison.OrdinalIgnoreCase))
            {
                return LanguagePrimitives.ConvertTo<string>(entry.Value);
            }
        }

        return null;
    }
}

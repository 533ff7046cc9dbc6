using System.Collections;
using System.Globalization;
using System.Management.Automation;

namespace LlmTasks.PowerShell.Internal;

/// <summary>
/// -Prompt takes text: strings, and scalars that read as text (numbers, dates, GUIDs). Any other
/// object is refused instead of being sent as its type name or "@{Prompt=…}": a stringified object
/// is a paid call about garbage. Tasks continue with -Continue; file contents come from Get-Content -Raw.
/// </summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Field)]
public sealed class PromptTextAttribute : ArgumentTransformationAttribute
{
    public override object? Transform(EngineIntrinsics engineIntrinsics, object? inputData)
    {
        var value = inputData is PSObject wrapped ? wrapped.BaseObject : inputData;
        if (value is null or string)
        {
            return value;
        }

        if (value is IList list)
        {
            return list.Cast<object?>().Select(item => Text(item)).ToArray();
        }

        return Text(value);
    }

    private static string? Text(object? item) =>
        item is null ? null
        : ScalarText.TryGet(item, out var text) ? text
        : throw new ArgumentTransformationMetadataException(
            $"-Prompt takes text, not a {ScalarText.TypeName(item)}. {ScalarText.Hint(item)}");
}

/// <summary>What counts as text when a prompt (or text to verify) is piped: strings and plain scalars.</summary>
internal static class ScalarText
{
    public static bool TryGet(object? value, out string text)
    {
        value = value is PSObject wrapped ? wrapped.BaseObject : value;
        switch (value)
        {
            case string s:
                text = s;
                return true;
            case char or bool or Guid or Uri or decimal or DateTime or DateTimeOffset or TimeSpan or System.Numerics.BigInteger:
            case not null when value.GetType().IsPrimitive:
                text = Convert.ToString(value, CultureInfo.InvariantCulture) ?? string.Empty;
                return true;
            default:
                text = string.Empty;
                return false;
        }
    }

    public static string TypeName(object? value)
    {
        var wrapped = value as PSObject;
        var baseObject = wrapped?.BaseObject ?? value;
        var typeName = wrapped?.TypeNames.FirstOrDefault() ?? baseObject?.GetType().FullName ?? "null";
        return typeName.StartsWith("System.Management.Automation.", StringComparison.Ordinal) ? typeName["System.Management.Automation.".Length..] : typeName;
    }

    public static string Hint(object? value)
    {
        var baseObject = value is PSObject wrapped ? wrapped.BaseObject : value;
        return baseObject switch
        {
            LlmTask => "To continue a task's conversation, pipe it: $task | Start-LlmTask -Continue -Prompt '…'.",
            FileSystemInfo => "To send a file's text, use (Get-Content -Raw -LiteralPath <path>).",
            _ when TaskReferences.IsTaskObject(value) => "To continue a task's conversation, pipe it: $task | Start-LlmTask -Continue -Prompt '…'.",
            _ => "Give the text itself, for example -Prompt $row.Question.",
        };
    }
}

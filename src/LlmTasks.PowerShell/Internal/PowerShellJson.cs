using System.Collections;
using System.Globalization;
using System.Numerics;
using System.Management.Automation;
using System.Text;
using System.Text.Json;

namespace LlmTasks.PowerShell.Internal;

/// <summary>
/// JSON to and from PowerShell values, without the Utility module: hashtables and lists become
/// JSON (for -JsonSchema, -McpConfig); JSON becomes PSCustomObjects and arrays (for structured answers).
/// </summary>
internal static class PowerShellJson
{
    /// <summary>JSON text from a string (JSON text, or the path of a .json file) or a hashtable.</summary>
    public static string FromValue(object value, string parameterName, Func<string, string> resolvePath)
    {
        value = value is PSObject wrapped ? wrapped.BaseObject : value;
        if (value is string text)
        {
            var trimmed = text.TrimStart();
            if (!trimmed.StartsWith('{') && !trimmed.StartsWith('['))
            {
                var path = resolvePath(text);
                if (!File.Exists(path))
                {
                    throw new LlmTasksException(ErrorIds.InvalidOption, LlmErrorCategory.InvalidArgument,
                        $"-{parameterName} is neither JSON text nor the path of a file that exists: '{text}'.") { Target = text };
                }

                text = File.ReadAllText(path);
            }

            try
            {
                using var document = JsonDocument.Parse(text);
                return JsonSerializer.Serialize(document.RootElement);
            }
            catch (JsonException e)
            {
                throw new LlmTasksException(ErrorIds.InvalidOption, LlmErrorCategory.InvalidArgument,
                    $"-{parameterName} is not valid JSON: {e.Message}") { Target = value };
            }
        }

        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream))
        {
            Write(writer, value, depth: 0);
        }

        return Encoding.UTF8.GetString(stream.ToArray());
    }

    private static void Write(Utf8JsonWriter writer, object? value, int depth)
    {
        if (depth > 64)
        {
            throw new LlmTasksException(ErrorIds.InvalidOption, LlmErrorCategory.InvalidArgument, "The value is nested more than 64 levels deep.");
        }

        value = value is PSObject wrapped && wrapped.BaseObject is not PSCustomObject ? wrapped.BaseObject : value;
        switch (value)
        {
            case null:
                writer.WriteNullValue();
                break;
            case string s:
                writer.WriteStringValue(s);
                break;
            case bool b:
                writer.WriteBooleanValue(b);
                break;
            case SwitchParameter sw:
                writer.WriteBooleanValue(sw.IsPresent);
                break;
            case Enum e:
                writer.WriteStringValue(e.ToString());
                break;
            case int or long or short or byte or sbyte or ushort or uint or ulong or float or double or decimal:
                writer.WriteRawValue(Convert.ToString(value, CultureInfo.InvariantCulture)!);
                break;
            case IDictionary dictionary:
                writer.WriteStartObject();
                foreach (DictionaryEntry entry in dictionary)
                {
                    writer.WritePropertyName(entry.Key.ToString()!);
                    Write(writer, entry.Value, depth + 1);
                }

                writer.WriteEndObject();
                break;
            case PSObject custom:
                writer.WriteStartObject();
                foreach (var property in custom.Properties)
                {
                    writer.WritePropertyName(property.Name);
                    Write(writer, property.Value, depth + 1);
                }

                writer.WriteEndObject();
                break;
            case IEnumerable list:
                writer.WriteStartArray();
                foreach (var item in list)
                {
                    Write(writer, item, depth + 1);
                }

                writer.WriteEndArray();
                break;
            default:
                writer.WriteStringValue(Convert.ToString(value, CultureInfo.InvariantCulture));
                break;
        }
    }

    /// <summary>PowerShell objects from JSON text: objects become PSCustomObjects, arrays object[].</summary>
    public static object? ToPowerShell(string json)
    {
        using var document = JsonDocument.Parse(json);
        return FromJson(document.RootElement);
    }

    private static object? FromJson(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.Object => ToCustomObject(element),
        JsonValueKind.Array => element.EnumerateArray().Select(FromJson).ToArray(),
        JsonValueKind.String => element.GetString(),
        JsonValueKind.Number => Number(element),
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        _ => null,
    };

    /// <summary>
    /// A number as ConvertFrom-Json reads it: an integer is an Int64 (a BigInteger past its range), anything
    /// else a Double. Typed as object, so an integer is never widened to the Double of a shared ternary type.
    /// </summary>
    private static object Number(JsonElement element)
    {
        if (element.TryGetInt64(out var integer))
        {
            return integer;
        }

        var text = element.GetRawText();
        if (text.AsSpan().IndexOfAny('.', 'e', 'E') < 0 && BigInteger.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var big))
        {
            return big;
        }

        // 1e400 does not fit a Double either: Infinity, as ConvertFrom-Json reads it.
        return element.TryGetDouble(out var real) ? real : double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture);
    }

    private static PSObject ToCustomObject(JsonElement element)
    {
        var result = new PSObject();
        foreach (var property in element.EnumerateObject())
        {
            result.Properties.Add(new PSNoteProperty(property.Name, FromJson(property.Value)));
        }

        return result;
    }
}

using System.Text.Json;
using System.Text.RegularExpressions;

namespace LlmTasks.Execution;

/// <summary>
/// Checks that -JsonSchema is a JSON Schema by the meta-schema's rules for the keywords providers use
/// (type, properties, items, required, enum, const, the combinators, the numeric and length limits,
/// pattern, $ref, $defs): <c>{"type":5}</c> or <c>{"required":"name"}</c> is refused when the task is
/// started instead of failing every call later. Unknown keywords are allowed, as the meta-schema allows them.
/// </summary>
internal static class JsonSchemaShape
{
    private static readonly HashSet<string> Types = ["string", "number", "integer", "boolean", "object", "array", "null"];

    /// <summary>The first problem, as "at #/properties/a: …", or null when the schema is well formed.</summary>
    public static string? Problem(JsonElement schema) => Schema(schema, "#");

    private static string? Schema(JsonElement schema, string at)
    {
        if (schema.ValueKind is JsonValueKind.True or JsonValueKind.False)
        {
            return null; // true / false are schemas too
        }

        if (schema.ValueKind != JsonValueKind.Object)
        {
            return $"at {at}: a schema must be an object (or true/false), not {Kind(schema)}";
        }

        foreach (var keyword in schema.EnumerateObject())
        {
            var here = $"{at}/{keyword.Name}";
            var value = keyword.Value;
            var problem = keyword.Name switch
            {
                "type" => value.ValueKind == JsonValueKind.String ? TypeName(value, here)
                    : value.ValueKind == JsonValueKind.Array ? Each(value, here, (v, p) => v.ValueKind == JsonValueKind.String ? TypeName(v, p) : Expected(p, "a type name", v))
                    : Expected(here, "a type name (\"string\", \"object\" …) or a list of them", value),
                "properties" or "patternProperties" or "$defs" or "definitions" or "dependentSchemas" => value.ValueKind == JsonValueKind.Object
                    ? value.EnumerateObject().Select(p => Schema(p.Value, $"{here}/{p.Name}")).FirstOrDefault(p => p is not null)
                    : Expected(here, "an object of schemas", value),
                "items" => value.ValueKind == JsonValueKind.Array ? Each(value, here, Schema) : Schema(value, here),
                "prefixItems" or "allOf" or "anyOf" or "oneOf" => value.ValueKind == JsonValueKind.Array && value.GetArrayLength() > 0
                    ? Each(value, here, Schema)
                    : Expected(here, "a non-empty list of schemas", value),
                "not" or "additionalProperties" or "additionalItems" or "contains" or "propertyNames" or "if" or "then" or "else"
                    or "unevaluatedProperties" or "unevaluatedItems" => Schema(value, here),
                "required" => value.ValueKind == JsonValueKind.Array
                    ? Each(value, here, (v, p) => v.ValueKind == JsonValueKind.String ? null : Expected(p, "a property name", v))
                    : Expected(here, "a list of property names", value),
                "enum" => value.ValueKind == JsonValueKind.Array ? null : Expected(here, "a list of values", value),
                "minimum" or "maximum" or "exclusiveMinimum" or "exclusiveMaximum" or "multipleOf" =>
                    value.ValueKind == JsonValueKind.Number || (value.ValueKind is JsonValueKind.True or JsonValueKind.False && keyword.Name.StartsWith("exclusive", StringComparison.Ordinal))
                        ? null : Expected(here, "a number", value),
                "minLength" or "maxLength" or "minItems" or "maxItems" or "minProperties" or "maxProperties" or "minContains" or "maxContains" =>
                    value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var n) && n >= 0 ? null : Expected(here, "a whole number of 0 or more", value),
                "uniqueItems" => value.ValueKind is JsonValueKind.True or JsonValueKind.False ? null : Expected(here, "true or false", value),
                "pattern" => value.ValueKind == JsonValueKind.String ? Pattern(value.GetString()!, here) : Expected(here, "a regular expression", value),
                "$ref" or "$schema" or "$id" or "format" or "title" or "description" => value.ValueKind == JsonValueKind.String ? null : Expected(here, "a string", value),
                _ => null,
            };
            if (problem is not null)
            {
                return problem;
            }
        }

        return null;
    }

    private static string? TypeName(JsonElement value, string at) =>
        Types.Contains(value.GetString()!) ? null : $"at {at}: '{value.GetString()}' is not a JSON type (use one of {string.Join(", ", Types)})";

    private static string? Each(JsonElement array, string at, Func<JsonElement, string, string?> check) =>
        array.EnumerateArray().Select((item, i) => check(item, $"{at}/{i}")).FirstOrDefault(p => p is not null);

    private static string Expected(string at, string what, JsonElement got) => $"at {at}: expected {what}, got {Kind(got)} {Shorten(got.GetRawText())}";

    private static string? Pattern(string pattern, string at)
    {
        try
        {
            _ = new Regex(pattern, RegexOptions.None, TimeSpan.FromSeconds(1));
            return null;
        }
        catch (ArgumentException e)
        {
            return $"at {at}: the pattern is not a valid regular expression ({e.Message})";
        }
    }

    private static string Kind(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Number => "a number",
        JsonValueKind.String => "a string",
        JsonValueKind.Array => "a list",
        JsonValueKind.Object => "an object",
        JsonValueKind.Null => "null",
        _ => "true/false",
    };

    private static string Shorten(string text) => text.Length > 40 ? text[..40] + "…" : text;
}

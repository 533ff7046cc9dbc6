using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace LlmTasks.Verification.Checks;

/// <summary>FieldPresent: a dot/array path (person.address[0].city) exists in the output's JSON, optionally with a Value; Present=false for absence.</summary>
internal sealed partial class FieldPresentCheck : IOutputCheck
{
    private readonly IReadOnlyList<object> _segments; // string names, int indexes
    private readonly JsonElement? _value;

    public FieldPresentCheck(CheckSpec spec, Func<string, Exception> invalid)
    {
        Spec = spec;
        if (string.IsNullOrWhiteSpace(spec.Path))
        {
            throw invalid("it needs Path, a dot/array path such as person.address[0].city.");
        }

        _segments = ParsePath(spec.Path) ?? throw invalid($"the Path '{spec.Path}' is not a dot/array path (names separated by dots, [n] for array items).");
        if (spec.Value is { } value)
        {
            try
            {
                using var document = JsonDocument.Parse(value);
                _value = document.RootElement.Clone();
            }
            catch (JsonException e)
            {
                throw invalid($"the Value is not valid JSON: {e.Message}");
            }
        }
    }

    public CheckSpec Spec { get; }

    public Task<CheckVerdict> RunAsync(CheckContext context)
    {
        if (!JsonText.TryParse(context.Output, out var root, out var problem))
        {
            return Task.FromResult(CheckVerdict.Fail(problem!, "Answer with valid JSON."));
        }

        var found = Find(root, out var element);
        var wantPresent = Spec.Present ?? true;
        if (!wantPresent)
        {
            return Task.FromResult(found
                ? CheckVerdict.Fail($"The field '{Spec.Path}' is present but must not be.", $"Leave out '{Spec.Path}'.")
                : CheckVerdict.Pass());
        }

        if (!found)
        {
            return Task.FromResult(CheckVerdict.Fail($"The field '{Spec.Path}' is missing.", $"Include the field '{Spec.Path}'."));
        }

        if (_value is { } expected && !JsonEquals(element, expected))
        {
            return Task.FromResult(CheckVerdict.Fail($"The field '{Spec.Path}' is {element.GetRawText()}, expected {expected.GetRawText()}.",
                $"Set '{Spec.Path}' to {expected.GetRawText()}."));
        }

        return Task.FromResult(CheckVerdict.Pass());
    }

    private bool Find(JsonElement root, out JsonElement element)
    {
        element = root;
        foreach (var segment in _segments)
        {
            if (segment is string name)
            {
                if (element.ValueKind != JsonValueKind.Object || !element.TryGetProperty(name, out element))
                {
                    return false;
                }
            }
            else if (segment is int index)
            {
                if (element.ValueKind != JsonValueKind.Array || index >= element.GetArrayLength())
                {
                    return false;
                }

                element = element[index];
            }
        }

        return true;
    }

    internal static bool JsonEquals(JsonElement a, JsonElement b)
    {
        if (a.ValueKind == JsonValueKind.Number && b.ValueKind == JsonValueKind.Number)
        {
            return a.TryGetDecimal(out var x) && b.TryGetDecimal(out var y) ? x == y : a.GetDouble() == b.GetDouble();
        }

        if (a.ValueKind != b.ValueKind)
        {
            return false;
        }

        return a.ValueKind switch
        {
            JsonValueKind.String => a.GetString() == b.GetString(),
            JsonValueKind.Array => a.GetArrayLength() == b.GetArrayLength() && a.EnumerateArray().Zip(b.EnumerateArray()).All(p => JsonEquals(p.First, p.Second)),
            JsonValueKind.Object => a.EnumerateObject().Count() == b.EnumerateObject().Count()
                                    && a.EnumerateObject().All(p => b.TryGetProperty(p.Name, out var other) && JsonEquals(p.Value, other)),
            _ => true, // true, false, null
        };
    }

    private static List<object>? ParsePath(string path)
    {
        var segments = new List<object>();
        foreach (var part in path.Trim().TrimStart('$').TrimStart('.').Split('.'))
        {
            var match = Segment().Match(part);
            if (!match.Success)
            {
                return null;
            }

            if (match.Groups["name"].Value is { Length: > 0 } name)
            {
                segments.Add(name);
            }

            foreach (Capture index in match.Groups["index"].Captures)
            {
                segments.Add(int.Parse(index.Value, CultureInfo.InvariantCulture));
            }

            if (match.Groups["name"].Length == 0 && match.Groups["index"].Captures.Count == 0)
            {
                return null;
            }
        }

        return segments;
    }

    [GeneratedRegex(@"^(?<name>[^\[\]]*)(?:\[(?<index>\d+)\])*$")]
    private static partial Regex Segment();
}

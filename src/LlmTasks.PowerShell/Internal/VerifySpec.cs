using System.Collections;
using System.Globalization;
using System.Management.Automation;
using System.Text.Json;
using LlmTasks.Verification;

namespace LlmTasks.PowerShell.Internal;

/// <summary>
/// Turns -Verify items (hashtables and script blocks) into the engine's <see cref="CheckSpec"/>s.
/// Keys are read case-insensitively; an unknown key is an error naming the item (catches typos).
/// </summary>
internal static class VerifySpec
{
    private static readonly string[] Keys =
        ["Type", "Name", "Schema", "Path", "Value", "Present", "Pattern", "Options", "TimeoutMs", "Text", "CaseSensitive",
         "Min", "Max", "Words", "Language", "Model", "Criteria", "Prompt", "MockResponse", "Dialect", "Refuse", "Version", "Reference"];

    /// <summary>
    /// The keys each Type reads, besides Type and Name. A key of another type would be ignored, and the
    /// check would decide without it: @{ Type = 'Sql'; Refuse = 'Drop' } would pass a DROP TABLE.
    /// </summary>
    private static readonly Dictionary<string, string[]> KeysOf = new(StringComparer.OrdinalIgnoreCase)
    {
        ["NotEmpty"] = [],
        ["Json"] = [],
        ["JsonSchema"] = ["Schema"],
        ["FieldPresent"] = ["Path", "Value", "Present"],
        ["Regex"] = ["Pattern", "Options", "TimeoutMs"],
        ["Contains"] = ["Text", "CaseSensitive"],
        ["NotContains"] = ["Text", "CaseSensitive"],
        ["Length"] = ["Min", "Max", "Words"],
        ["Code"] = ["Language"],
        ["Python"] = [],
        ["Sql"] = ["Dialect"],
        ["SqlSafe"] = ["Dialect", "Refuse"],
        ["OpenApi"] = ["Version"],
        ["Judge"] = ["Model", "Criteria", "Prompt", "MockResponse"],
        ["Contradiction"] = ["Model", "Reference", "MockResponse"],
    };

    public static IReadOnlyList<CheckSpec> Convert(object[] items, Func<string, string> resolvePath)
    {
        var specs = new List<CheckSpec>(items.Length);
        for (var i = 0; i < items.Length; i++)
        {
            var item = items[i] is PSObject wrapped ? wrapped.BaseObject : items[i];
            specs.Add(item switch
            {
                ScriptBlock block => FromScriptBlock(block, i),
                IDictionary table => FromTable(table, i, resolvePath),
                string name => new CheckSpec { Type = name }, // 'NotEmpty', 'Json': types without parameters
                _ => throw Invalid(i, item?.GetType().Name ?? "null", "is neither a hashtable such as @{ Type = 'NotEmpty' } nor a script block { param($Output, $Task) … }.", item),
            });
        }

        return specs;
    }

    /// <summary>A script block, once <see cref="ScriptCheckRules"/> has found it self-contained (it runs in the module's runspace, later).</summary>
    private static CheckSpec FromScriptBlock(ScriptBlock block, int index)
    {
        ScriptCheckRules.Validate(block, index, VerificationServices.Default.ScriptRunner as ScriptCheckRunner);
        return new CheckSpec { Type = "Script", Name = "ScriptBlock", Script = block.ToString(), ScriptTrusted = true };
    }

    private static CheckSpec FromTable(IDictionary table, int index, Func<string, string> resolvePath)
    {
        var values = new Dictionary<string, object?>(StringComparer.OrdinalIgnoreCase);
        foreach (DictionaryEntry entry in table)
        {
            values[entry.Key?.ToString() ?? string.Empty] = entry.Value is PSObject p ? p.BaseObject : entry.Value;
        }

        var type = values.TryGetValue("Type", out var t) ? t?.ToString() : null;
        if (string.IsNullOrWhiteSpace(type))
        {
            throw Invalid(index, "no Type", "has no Type. Write it as @{ Type = 'NotEmpty' } (types: " + string.Join(", ", CheckFactory.Types.Where(x => x != "Script")) + ").", table);
        }

        var unknown = values.Keys.Where(k => !Keys.Contains(k, StringComparer.OrdinalIgnoreCase)).ToArray();
        if (unknown.Length > 0)
        {
            throw Invalid(index, type, $"has unknown key(s) {string.Join(", ", unknown)}. Known keys: {string.Join(", ", Keys)}.", table);
        }

        if (KeysOf.TryGetValue(type.Trim(), out var own))
        {
            var takes = new[] { "Type", "Name" }.Concat(own).ToArray();
            var foreign = values.Keys.Where(k => !takes.Contains(k, StringComparer.OrdinalIgnoreCase)).ToArray();
            if (foreign.Length > 0)
            {
                var owners = foreign.Select(k => $"{k} is for {string.Join(" or ", KeysOf.Where(e => e.Value.Contains(k, StringComparer.OrdinalIgnoreCase)).Select(e => e.Key))}");
                throw Invalid(index, type, $"has key(s) {string.Join(", ", foreign)} that {type} does not read, so it would decide without them ({string.Join("; ", owners)}). "
                    + $"{type} takes {string.Join(", ", takes)}.", table);
            }
        }

        try
        {
            return new CheckSpec
            {
                Type = type,
                Name = Text("Name"),
                Schema = values.TryGetValue("Schema", out var schema) && schema is not null ? PowerShellJson.FromValue(schema, "Verify Schema", resolvePath) : null,
                Path = Text("Path"),
                Value = values.TryGetValue("Value", out var value) ? JsonValue(value) : null,
                Present = Flag("Present"),
                Pattern = Text("Pattern"),
                Options = values.TryGetValue("Options", out var options) && options is not null ? options.ToString() : null,
                TimeoutMs = Number("TimeoutMs"),
                Text = values.TryGetValue("Text", out var text) && text is not null ? Strings(text) : null,
                CaseSensitive = Flag("CaseSensitive"),
                Min = Number("Min"),
                Max = Number("Max"),
                Words = Flag("Words"),
                Language = Text("Language"),
                Model = Text("Model"),
                Criteria = Text("Criteria"),
                Prompt = Text("Prompt"),
                MockResponse = Text("MockResponse"),
                Dialect = Text("Dialect"),
                Refuse = values.TryGetValue("Refuse", out var refuse) && refuse is not null ? Strings(refuse) : null,
                Version = values.TryGetValue("Version", out var version) ? VersionText(version) : null,
                Reference = Text("Reference"),
            };
        }
        catch (Exception e) when (e is PSInvalidCastException or InvalidCastException or FormatException or LlmTasksException)
        {
            throw Invalid(index, type, $"has a value of the wrong kind: {e.Message}", table);
        }

        string? Text(string key) => values.TryGetValue(key, out var v) && v is not null ? LanguagePrimitives.ConvertTo<string>(v) : null;
        bool? Flag(string key) => values.TryGetValue(key, out var v) && v is not null ? LanguagePrimitives.IsTrue(v is SwitchParameter s ? s.IsPresent : v) : null;
        int? Number(string key) => values.TryGetValue(key, out var v) && v is not null ? LanguagePrimitives.ConvertTo<int>(v) : null;
    }

    /// <summary>An OpenApi Version as text: 3.1 and '3.1' alike; a number keeps one decimal (3.0, not 3).</summary>
    private static string? VersionText(object? value) => value switch
    {
        null => null,
        double or float or decimal or int or long => System.Convert.ToDecimal(value, CultureInfo.InvariantCulture).ToString("0.0##", CultureInfo.InvariantCulture),
        _ => LanguagePrimitives.ConvertTo<string>(value),
    };

    private static string[] Strings(object value) => value is string s ? [s]
        : value is IEnumerable list ? list.Cast<object?>().Select(o => LanguagePrimitives.ConvertTo<string>(o is PSObject p ? p.BaseObject : o)).ToArray()
        : [LanguagePrimitives.ConvertTo<string>(value)];

    /// <summary>A FieldPresent Value as JSON: strings, numbers, booleans, $null, or a hashtable/list.</summary>
    private static string JsonValue(object? value) => value switch
    {
        null => "null",
        string s => JsonSerializer.Serialize(s),
        bool b => b ? "true" : "false",
        int or long or double or decimal or float or short or byte => System.Convert.ToString(value, CultureInfo.InvariantCulture)!,
        _ => PowerShellJson.FromValue(value, "Verify Value", p => p),
    };

    private static LlmTasksException Invalid(int index, string type, string problem, object? target) =>
        new(ErrorIds.InvalidVerification, LlmErrorCategory.InvalidArgument, $"Verify item {index + 1} ({type}) {problem}") { Target = target };
}

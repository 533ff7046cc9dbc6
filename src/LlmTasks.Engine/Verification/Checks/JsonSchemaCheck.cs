using System.Text.Json;

namespace LlmTasks.Verification.Checks;

/// <summary>JsonSchema: the output's JSON validates against the schema (NJsonSchema); failures carry the JSON path and reason.</summary>
internal sealed class JsonSchemaCheck : IOutputCheck
{
    private readonly NJsonSchema.JsonSchema _schema;

    public JsonSchemaCheck(CheckSpec spec, Func<string, Exception> invalid)
    {
        Spec = spec;
        if (string.IsNullOrWhiteSpace(spec.Schema))
        {
            throw invalid("it needs Schema (JSON text, a hashtable, or the path of a .json file).");
        }

        try
        {
            _schema = NJsonSchema.JsonSchema.FromJsonAsync(spec.Schema).GetAwaiter().GetResult();
        }
        catch (Exception e) when (e is Newtonsoft.Json.JsonException or InvalidOperationException or ArgumentException or NotSupportedException)
        {
            throw invalid($"the Schema is not a valid JSON schema: {e.Message}");
        }
    }

    public CheckSpec Spec { get; }

    public Task<CheckVerdict> RunAsync(CheckContext context)
    {
        if (!JsonText.TryParse(context.Output, out var root, out var problem))
        {
            return Task.FromResult(CheckVerdict.Fail(problem!, "Answer with JSON that follows the schema."));
        }

        var errors = _schema.Validate(root.GetRawText());
        if (errors.Count == 0)
        {
            return Task.FromResult(CheckVerdict.Pass());
        }

        var listed = errors.Select(e => new { path = string.IsNullOrEmpty(e.Path) ? "#" : e.Path, reason = e.Kind.ToString(), property = e.Property }).ToArray();
        var reason = "The JSON does not follow the schema: " + string.Join("; ", listed.Select(e => $"{e.path}: {e.reason}"));
        return Task.FromResult(CheckVerdict.Fail(reason, "Fix the fields named above so the JSON follows the schema: " + NotEmptyCheck.Shorten(Spec.Schema!, 400),
            JsonSerializer.Serialize(listed.Select(e => new Dictionary<string, string?> { ["path"] = e.path, ["reason"] = e.reason, ["property"] = e.property }).ToArray())));
    }
}

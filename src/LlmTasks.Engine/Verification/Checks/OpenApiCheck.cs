using System.Text.Json;
using Microsoft.OpenApi;
using Microsoft.OpenApi.Reader;

namespace LlmTasks.Verification.Checks;

/// <summary>
/// OpenApi: the output (its first fenced yaml/json block, else an untagged one, else the whole text) is a
/// valid OpenAPI 3.x or Swagger 2.0 document in JSON or YAML, read by Microsoft.OpenApi (with its YAML
/// reader) and validated with its default rules; with Version ('2.0', '3.0', '3.1', '3.2') it must be that
/// version. A failure lists the reader's errors with their JSON pointers. External references are never
/// fetched.
/// </summary>
internal sealed class OpenApiCheck : IOutputCheck
{
    private static readonly string[] Tags = ["yaml", "yml", "json", "openapi", "swagger"];

    private static readonly Dictionary<string, OpenApiSpecVersion> Versions = new(StringComparer.OrdinalIgnoreCase)
    {
        ["2"] = OpenApiSpecVersion.OpenApi2_0, ["2.0"] = OpenApiSpecVersion.OpenApi2_0, ["Swagger"] = OpenApiSpecVersion.OpenApi2_0,
        ["3.0"] = OpenApiSpecVersion.OpenApi3_0, ["3.1"] = OpenApiSpecVersion.OpenApi3_1, ["3.2"] = OpenApiSpecVersion.OpenApi3_2,
    };

    private readonly OpenApiSpecVersion? _version;

    public OpenApiCheck(CheckSpec spec, Func<string, Exception> invalid)
    {
        Spec = spec;
        if (spec.Version is { } version)
        {
            if (!Versions.TryGetValue(version.Trim(), out var v))
            {
                throw invalid($"Version '{version}' is not one of '2.0', '3.0', '3.1', '3.2'.");
            }

            _version = v;
        }
    }

    public CheckSpec Spec { get; }

    public Task<CheckVerdict> RunAsync(CheckContext context)
    {
        var code = FencedCode.Extract(context.Output, Tags);
        if (string.IsNullOrWhiteSpace(code.Code))
        {
            return Task.FromResult(CheckVerdict.Fail("The output holds no OpenAPI document.", Suggestion()));
        }

        ReadResult result;
        try
        {
            var settings = new OpenApiReaderSettings { LoadExternalRefs = false };
            settings.AddYamlReader();
            result = OpenApiDocument.Parse(code.Code, null, settings);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return Task.FromResult(CheckVerdict.Fail($"The output is not an OpenAPI document: {e.Message}", Suggestion()));
        }

        var errors = (result.Diagnostic?.Errors ?? []).Select(e => (Pointer: e.Pointer ?? string.Empty, e.Message)).ToList();
        if (result.Document is { } document)
        {
            foreach (var e in document.Validate(ValidationRuleSet.GetDefaultRuleSet()) ?? [])
            {
                errors.Add((e.Pointer ?? string.Empty, e.Message));
            }
        }

        errors = errors.Distinct().ToList();
        var found = result.Diagnostic?.SpecificationVersion;
        var details = new Dictionary<string, object?>
        {
            ["version"] = found is { } f ? Display(f) : null,
            ["format"] = result.Diagnostic?.Format,
            ["errors"] = errors.Select(e => new Dictionary<string, string> { ["pointer"] = e.Pointer, ["message"] = e.Message }).ToArray(),
            ["warnings"] = (result.Diagnostic?.Warnings ?? []).Select(w => new Dictionary<string, string?> { ["pointer"] = w.Pointer, ["message"] = w.Message }).ToArray(),
        };
        if (result.Document is null || errors.Count > 0)
        {
            var listed = string.Join("; ", errors.Take(10).Select(e => e.Pointer.Length > 0 ? $"{e.Pointer}: {e.Message}" : e.Message)) + (errors.Count > 10 ? $"; and {errors.Count - 10} more" : string.Empty);
            return Task.FromResult(CheckVerdict.Fail($"The OpenAPI document is not valid{(found is { } v && result.Document is not null ? $" ({Display(v)})" : string.Empty)}: {(listed.Length > 0 ? listed : "it could not be read")}",
                "Fix the fields at the JSON pointers named above. " + Suggestion(), JsonSerializer.Serialize(details)));
        }

        if (_version is { } wanted && found != wanted)
        {
            return Task.FromResult(CheckVerdict.Fail($"The document is {(found is { } v2 ? Display(v2) : "of an unknown version")}, not {Display(wanted)}.",
                $"Write an {Display(wanted)} document.", JsonSerializer.Serialize(details)));
        }

        return Task.FromResult(new CheckVerdict(true, $"a valid {(found is { } ok ? Display(ok) : "OpenAPI")} document ({result.Diagnostic?.Format}, {result.Document.Paths?.Count ?? 0} path(s))",
            Details: JsonSerializer.Serialize(details)));
    }

    private string Suggestion() => $"Answer with one complete {(_version is { } v ? Display(v) : "OpenAPI 3")} document in YAML or JSON (openapi/swagger, info with title and version, paths).";

    private static string Display(OpenApiSpecVersion version) => version switch
    {
        OpenApiSpecVersion.OpenApi2_0 => "Swagger 2.0",
        OpenApiSpecVersion.OpenApi3_0 => "OpenAPI 3.0",
        OpenApiSpecVersion.OpenApi3_1 => "OpenAPI 3.1",
        OpenApiSpecVersion.OpenApi3_2 => "OpenAPI 3.2",
        _ => version.ToString(),
    };
}

using System.Text.Json;
using LlmTasks.Verification;
using static LlmTasks.Tests.Verification.CheckRunner;

namespace LlmTasks.Tests.Verification;

public sealed class OpenApiCheckTests
{
    private const string Yaml31 = """
        openapi: 3.1.0
        info:
          title: Pets
          version: '1.0'
        paths:
          /pets:
            get:
              responses:
                '200':
                  description: the pets
        """;

    private const string Json30 = """
        {"openapi": "3.0.3", "info": {"title": "Pets", "version": "1.0"},
         "paths": {"/pets": {"get": {"responses": {"200": {"description": "the pets"}}}}}}
        """;

    private const string Swagger20 = """
        swagger: '2.0'
        info:
          title: Pets
          version: '1.0'
        paths:
          /pets:
            get:
              responses:
                '200':
                  description: the pets
        """;

    private static CheckSpec OpenApi(string? version = null) => new() { Type = "OpenApi", Version = version };

    [Fact]
    public void Yaml_and_json_documents_of_each_version_pass()
    {
        Assert.Contains("OpenAPI 3.1", Passes(Yaml31, OpenApi()).Reason);
        Assert.Contains("OpenAPI 3.0", Passes(Json30, OpenApi()).Reason);
        Assert.Contains("Swagger 2.0", Passes(Swagger20, OpenApi()).Reason);
        Passes("The spec:\n```yaml\n" + Yaml31 + "\n```\nEnjoy.", OpenApi("3.1"));
    }

    [Fact]
    public void Reader_errors_are_the_reason_with_their_json_pointers()
    {
        const string broken = """
            openapi: 3.0.0
            info:
              version: '1'
            paths:
              /pets:
                get:
                  responses: {}
            """;
        var result = Fails(broken, OpenApi());
        Assert.Contains("#/info/title", result.Reason);
        Assert.Contains("REQUIRED", result.Reason);
        Assert.Contains("#/paths/~1pets/get/responses", result.Reason);
        var errors = JsonDocument.Parse(result.Details!).RootElement.GetProperty("errors");
        Assert.Contains(errors.EnumerateArray(), e => e.GetProperty("pointer").GetString() == "#/info/title");
    }

    [Fact]
    public void Swagger_errors_are_reported_too()
    {
        Assert.Contains("title", Fails("swagger: '2.0'\ninfo:\n  version: '1'\npaths: {}\n", OpenApi()).Reason);
    }

    [Fact]
    public void Text_that_is_not_an_OpenAPI_document_fails()
    {
        Assert.Contains("not an OpenAPI document", Fails("hello world", OpenApi()).Reason);
        Assert.Contains("Version node not found", Fails("{\"title\": \"not a spec\"}", OpenApi()).Reason);
        Assert.Contains("line 3", Fails("openapi: 3.0.0\ninfo: [\n", OpenApi()).Reason);
        Assert.Contains("no OpenAPI document", Fails("", OpenApi()).Reason);
    }

    [Fact]
    public void Version_must_match_when_given()
    {
        Assert.Contains("is Swagger 2.0, not OpenAPI 3.1", Fails(Swagger20, OpenApi("3.1")).Reason);
        Assert.Contains("is OpenAPI 3.1, not OpenAPI 3.0", Fails(Yaml31, OpenApi("3.0")).Reason);
        Passes(Swagger20, OpenApi("2.0"));
        Assert.Contains("Version '4.0' is not one of", SpecError(OpenApi("4.0")).Message);
    }
}

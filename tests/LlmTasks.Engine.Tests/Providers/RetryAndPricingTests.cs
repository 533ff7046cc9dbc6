using LlmTasks.Execution;
using LlmTasks.Providers;
using LlmTasks.Providers.OpenAICompatible;
using LlmTasks.Providers.Pricing;
using Microsoft.Extensions.Time.Testing;

namespace LlmTasks.Tests.Providers;

public sealed class RetryAndPricingTests
{
    [Fact]
    public void Retry_after_reads_milliseconds_seconds_and_http_dates()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2025, 1, 1, 12, 0, 0, TimeSpan.Zero));
        Assert.Equal(TimeSpan.FromMilliseconds(250), RetryAfter.Parse("250", "9", time));
        Assert.Equal(TimeSpan.FromSeconds(9), RetryAfter.Parse(null, "9", time));
        Assert.Equal(TimeSpan.FromSeconds(30), RetryAfter.Parse(null, "Wed, 01 Jan 2025 12:00:30 GMT", time));
        Assert.Equal(TimeSpan.Zero, RetryAfter.Parse(null, "Wed, 01 Jan 2025 11:00:00 GMT", time));
        Assert.Null(RetryAfter.Parse("soon", "later", time));
    }

    [Fact]
    public async Task Backoff_runs_on_the_injected_clock_and_every_wait_is_capped()
    {
        var time = new FakeTimeProvider();
        var options = new RetryOptions { MaxRetries = 3, BaseDelay = TimeSpan.FromMinutes(10), MaxDelay = TimeSpan.FromMinutes(15), AttemptTimeout = TimeSpan.FromHours(2), TimeProvider = time };
        var delays = new List<TimeSpan>();
        var calls = 0;
        var run = RetryPipeline.For(options).ExecuteAsync(async _ =>
        {
            await Task.Yield();
            return ++calls < 4 ? throw new LlmTasks.Providers.Http.ProviderHttpException("anthropic/x", 529, "overloaded_error", "Overloaded", null, null, null) : "ok";
        }, CancellationToken.None, (_, failure, delay) =>
        {
            Assert.Equal("Overloaded", failure.Kind);
            delays.Add(delay);
            return default;
        }).AsTask();
        for (var i = 0; i < 500 && !run.IsCompleted; i++)
        {
            time.Advance(TimeSpan.FromMinutes(1));
            await Task.Delay(2);
        }

        Assert.Equal("ok", await run);
        Assert.Equal(4, calls);
        Assert.Equal(3, delays.Count);
        Assert.All(delays, d => Assert.InRange(d, TimeSpan.Zero, options.MaxDelay));
        Assert.True(time.GetUtcNow() - new FakeTimeProvider().GetUtcNow() >= delays.Aggregate(TimeSpan.Zero, (a, b) => a + b) - TimeSpan.FromMinutes(1));
    }

    [Fact]
    public void Known_models_have_a_cost_and_dated_snapshots_share_it()
    {
        Assert.Equal(0.75m, ModelPrices.Cost(new ModelId("openai", "gpt-4o-mini"), 1_000_000, 1_000_000));
        Assert.Equal(18m, ModelPrices.Cost(new ModelId("anthropic", "claude-sonnet-4-5-20250929"), 1_000_000, 1_000_000));
        Assert.Null(ModelPrices.Cost(new ModelId("ollama", "gpt-4o-mini"), 10, 10));
        Assert.Null(ModelPrices.Cost(new ModelId("openai", "gpt-4o-mini"), null, null));
    }

    [Fact]
    public void Keys_are_redacted_from_error_text()
    {
        var text = CallErrors.Redact("bad key secret-1 and sk-proj-abcdefghijklmnop", new TaskSecrets("secret-1"));
        Assert.DoesNotContain("secret-1", text);
        Assert.DoesNotContain("abcdefghijklmnop", text);
    }

    [Theory]
    [InlineData("localhost", "http://localhost:11434/v1")]
    [InlineData("0.0.0.0:9999", "http://0.0.0.0:9999/v1")]
    [InlineData("https://ollama.example:443", "https://ollama.example:443/v1")]
    [InlineData("http://box:11434/v1", "http://box:11434/v1")]
    public void OLLAMA_HOST_becomes_the_openai_compatible_base_url(string host, string expected) =>
        Assert.Equal(expected, OpenAICompatibleEndpoint.FromHost(host));

    [Fact]
    public void The_default_registry_routes_every_documented_prefix_and_lists_them_for_unknown_ones()
    {
        var registry = ProviderRegistry.CreateDefault();
        foreach (var prefix in new[] { "openai", "azure", "anthropic", "ollama", "vllm", "lmstudio", "openrouter", "litellm", "mock" })
        {
            Assert.Contains(prefix, registry.Names);
        }

        var e = Assert.Throws<LlmTasksException>(() => registry.Resolve("nope/x"));
        Assert.Contains("anthropic/", e.Message);
        Assert.Contains("ollama/", e.Message);
    }
}

public sealed class SchemaValidationTests : IDisposable
{
    private readonly LlmTasks.Tests.Doubles.TempStore _temp = new();

    public void Dispose() => _temp.Dispose();

    [Theory]
    [InlineData("{not json", "not JSON")]
    [InlineData("[1,2]", "JSON object")]
    [InlineData("""{"type":5}""", "at #/type: expected a type name")]
    [InlineData("""{"type":"strng"}""", "'strng' is not a JSON type")]
    [InlineData("""{"type":"object","required":"name"}""", "at #/required: expected a list of property names")]
    [InlineData("""{"type":"object","properties":{"a":{"type":["string",3]}}}""", "at #/properties/a/type/1")]
    [InlineData("""{"type":"array","items":{"minItems":-1}}""", "at #/items/minItems")]
    [InlineData("""{"type":"string","pattern":"("}""", "not a valid regular expression")]
    [InlineData("""{"anyOf":[]}""", "a non-empty list of schemas")]
    public void A_schema_that_is_not_a_json_schema_is_refused_before_it_is_stored(string schema, string said)
    {
        using var manager = LlmTasks.Tests.Doubles.Managers.Open(_temp.Path);
        var e = Assert.Throws<LlmTasksException>(() => manager.Start(LlmTasks.Tests.Doubles.Managers.Request("q") with { JsonSchema = schema }));
        Assert.Equal(ErrorIds.InvalidJsonSchema, e.ErrorId);
        Assert.Equal(LlmErrorCategory.InvalidArgument, e.Category);
        Assert.Contains("-JsonSchema", e.Message);
        Assert.Contains(said, e.Message);
        Assert.Empty(manager.Store.Query(new LlmTasks.Storage.TaskQuery()));
    }

    [Theory]
    [InlineData("""{"type":"object","properties":{"verdict":{"type":"string","enum":["yes","no"]},"score":{"type":["integer","null"],"minimum":0}},"required":["verdict"],"additionalProperties":false}""")]
    [InlineData("""{"$defs":{"item":{"type":"object","properties":{"name":{"type":"string","minLength":1}}}},"type":"array","items":{"$ref":"#/$defs/item"},"x-vendor":{"anything":1}}""")]
    [InlineData("""{"anyOf":[{"type":"string"},{"type":"number","exclusiveMinimum":0}],"description":"either"}""")]
    public void Real_schemas_are_accepted(string schema)
    {
        using var manager = LlmTasks.Tests.Doubles.Managers.Open(_temp.Path);
        Assert.Equal(LlmTaskState.Pending, manager.Start(LlmTasks.Tests.Doubles.Managers.Request("q") with { JsonSchema = schema }).State);
    }
}

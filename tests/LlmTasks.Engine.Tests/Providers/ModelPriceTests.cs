using LlmTasks.Configuration;
using LlmTasks.Execution;
using LlmTasks.Providers;
using LlmTasks.Providers.Pricing;
using LlmTasks.Storage;
using LlmTasks.Tests.Doubles;
using LlmTasks.Tests.Http;

namespace LlmTasks.Tests.Providers;

/// <summary>Prices and model facts from LiteLLM's price map: the shipped snapshot, a newer file, costs, context windows.</summary>
public sealed class ModelPriceTests
{
    private static readonly ModelId Mini = new("openai", "gpt-4o-mini");

    [Fact]
    public void The_shipped_snapshot_is_dated_attributed_and_names_models_as_Model_takes_them()
    {
        var catalog = ModelCatalog.BuiltIn;
        Assert.Null(catalog.Path);
        Assert.Equal("LiteLLM price map, commit 00035b6, retrieved 2026-12-01", catalog.Source);
        var mini = catalog.Find(Mini)!;
        Assert.Equal("openai/gpt-4o-mini", mini.Model);
        Assert.Equal(128_000, mini.ContextWindow);
        Assert.Equal(0.15m, mini.InputUsdPerMillion);
        Assert.Equal(0.6m, mini.OutputUsdPerMillion);
        Assert.Equal(0.075m, mini.CachedInputUsdPerMillion);
        Assert.Equal(0.075m, mini.BatchInputUsdPerMillion);
        Assert.Contains("Vision", mini.Capabilities);
        // LiteLLM's prefixed keys (azure/…, openrouter/…) become LlmTasks' own prefixes; other providers' models are left out.
        Assert.NotNull(catalog.Find(new ModelId("openrouter", "anthropic/claude-3-haiku")));
        Assert.NotNull(catalog.Find(new ModelId("azure", "gpt-4o")));
        Assert.DoesNotContain(catalog.Models, m => m.Model.StartsWith("bedrock", StringComparison.Ordinal) || m.Model.Contains("azure/azure/", StringComparison.Ordinal));
        Assert.All(catalog.Models, m => Assert.Contains(m.Provider, new[] { "openai", "anthropic", "azure", "openrouter", "ollama" }));
        // Far more than the nine models the old table had.
        Assert.True(catalog.Models.Count(m => m.Provider == "openai") > 50);
    }

    [Fact]
    public void Cached_input_is_priced_at_the_cached_rate_and_batch_calls_at_the_batch_prices()
    {
        // gpt-4o-mini: 0.15 in, 0.075 cached, 0.60 out; batch 0.075 in, 0.30 out (per million).
        Assert.Equal(0.75m, ModelPrices.Cost(Mini, 1_000_000, 1_000_000));
        Assert.Equal(0.075m + 0.0375m + 0.6m, ModelPrices.Cost(Mini, 1_000_000, 1_000_000, cachedInputTokens: 500_000, batch: false));
        Assert.Equal(0.075m + 0.3m, ModelPrices.Cost(Mini, 1_000_000, 1_000_000, batch: true));
        // claude-haiku-4-5 has no batch price in the map: half the live one (1 in, 5 out).
        Assert.Equal(3m, ModelPrices.Cost(new ModelId("anthropic", "claude-haiku-4-5"), 1_000_000, 1_000_000, batch: true));
        Assert.Equal(6m, ModelPrices.Cost(new ModelId("anthropic", "claude-haiku-4-5"), 1_000_000, 1_000_000, batch: false));
        // Cached tokens beyond the input are not priced twice.
        Assert.Equal(0.075m, ModelPrices.Cost(Mini, 1_000_000, 0, cachedInputTokens: 5_000_000, batch: false));
    }

    [Fact]
    public void Unknown_models_and_missing_usage_have_no_cost_and_dated_snapshots_share_their_models_price()
    {
        Assert.Null(ModelPrices.Cost(new ModelId("vllm", "Qwen/Qwen2.5-7B-Instruct"), 10, 10));
        Assert.Null(ModelPrices.Cost(Mini, null, null));
        Assert.Equal(ModelPrices.Cost(new ModelId("anthropic", "claude-opus-4-5"), 10, 10), ModelPrices.Cost(new ModelId("anthropic", "claude-opus-4-5-20991231"), 10, 10));
    }

    [Fact]
    public void A_newer_file_replaces_the_snapshot_in_either_format_and_is_read_again_when_it_changes()
    {
        using var temp = new TempStore();
        var file = Path.Combine(temp.Folder, "prices.json");
        // LiteLLM's own file: the models at the root, with its sample_spec.
        File.WriteAllText(file, """
            { "sample_spec": { "litellm_provider": "openai", "mode": "chat", "max_input_tokens": "set to max input tokens" },
              "gpt-4o-mini": { "litellm_provider": "openai", "mode": "chat", "input_cost_per_token": 1e-06, "output_cost_per_token": 2e-06, "max_input_tokens": 1000 },
              "text-embedding-3-small": { "litellm_provider": "openai", "mode": "embedding", "input_cost_per_token": 2e-08 } }
            """);
        var environment = new EngineEnvironment(name => name == ModelCatalog.PricesVariable ? file : null);
        var catalog = ModelCatalog.Load(environment);
        Assert.Equal(file, catalog.Path);
        Assert.Equal(file, catalog.Source);
        var mini = Assert.Single(catalog.Models);
        Assert.Equal(1m, mini.InputUsdPerMillion);
        Assert.Equal(1000, mini.ContextWindow);
        Assert.Equal(3m, ModelPrices.Cost(mini, 1_000_000, 1_000_000, null, batch: false));

        File.WriteAllText(file, """{ "source": { "commit": "abcdef0123", "retrieved": "2027-01-01" }, "models": { "claude-x": { "litellm_provider": "anthropic", "mode": "chat", "input_cost_per_token": 1e-06 } } }""");
        File.SetLastWriteTimeUtc(file, DateTime.UtcNow.AddMinutes(1));
        var newer = ModelCatalog.Load(environment);
        Assert.Equal("anthropic/claude-x", Assert.Single(newer.Models).Model);
        Assert.Null(newer.Find(Mini));
    }

    [Theory]
    [InlineData("missing.json", "no such file")]
    [InlineData("bad.json", "")]
    [InlineData("empty.json", "names no chat model")]
    public void A_file_that_is_not_a_price_map_is_an_error_naming_the_variable(string name, string says)
    {
        using var temp = new TempStore();
        var file = Path.Combine(temp.Folder, name);
        if (name == "bad.json")
        {
            File.WriteAllText(file, "{ not json");
        }
        else if (name == "empty.json")
        {
            File.WriteAllText(file, """{ "models": { "x": { "litellm_provider": "bedrock", "mode": "chat" } } }""");
        }

        var e = Assert.Throws<LlmTasksException>(() => ModelCatalog.Load(new EngineEnvironment(n => n == ModelCatalog.PricesVariable ? file : null)));
        Assert.Equal(ErrorIds.InvalidModelPrices, e.ErrorId);
        Assert.Contains("$env:LLMTASKS_MODEL_PRICES", e.Message);
        Assert.Contains(says, e.Message);
    }

    [Fact]
    public void Select_matches_whole_names_or_the_part_after_the_prefix_with_wildcards_and_reports_plain_names_it_lacks()
    {
        var catalog = ModelCatalog.BuiltIn;
        var (models, missing) = catalog.Select(["gpt-4o-mini", "anthropic/claude-opus-4-?", "no-such-model", "none*"], ["openai", "anth*"], null);
        Assert.Contains(models, m => m.Model == "openai/gpt-4o-mini");
        Assert.Contains(models, m => m.Model == "anthropic/claude-opus-4-5");
        Assert.DoesNotContain(models, m => m.Provider == "azure"); // azure/gpt-4o-mini is left out by -Provider
        Assert.Equal(["no-such-model"], missing);
        var (reasoning, _) = catalog.Select(null, ["openai"], ["Reasoning", "Vision"]);
        Assert.NotEmpty(reasoning);
        Assert.All(reasoning, m => Assert.True(m.Capabilities.Contains("Reasoning") && m.Capabilities.Contains("Vision")));
    }

    [Fact]
    public void A_prompt_clearly_over_the_context_window_is_refused_before_it_is_stored_or_sent()
    {
        using var h = new HttpHarness();
        var huge = new LlmTaskRequest { Model = "openai/gpt-4o-mini", Messages = [new LlmMessage(LlmRole.User, string.Concat(Enumerable.Repeat("word ", 130_000)))] };
        var e = Assert.Throws<LlmTasksException>(() => h.Manager.Start(huge with { ApiBase = h.Server.Url + "/v1" }, new TaskSecrets(HttpHarness.Key)));
        Assert.Equal(ErrorIds.ContextWindowExceeded, e.ErrorId);
        Assert.Contains("128,000", e.Message);
        Assert.Contains("130,00", e.Message); // the tokenizer's count: a token per word, and the framing
        Assert.Empty(h.Manager.Store.Query(new TaskQuery()));
        Assert.Empty(h.Server.Requests);

        // Just under the window: stored and sent.
        h.Server.Script(Reply.Json(200, RecordedResponses.OpenAIChat("ok")));
        var fits = huge with { Messages = [new LlmMessage(LlmRole.User, string.Concat(Enumerable.Repeat("word ", 127_000)))] };
        Assert.Equal(LlmTaskState.Completed, h.Run(fits, h.Server.Url + "/v1").State);
    }

    [Fact]
    public void For_other_providers_the_count_is_an_estimate_and_only_a_clear_excess_is_refused()
    {
        using var h = new HttpHarness();
        // claude-3-haiku-20240307 takes 200,000: 210,000 estimated tokens is within the 10 % margin, 230,000 is not.
        var near = new LlmTaskRequest { Model = "anthropic/claude-3-haiku-20240307", Messages = [new LlmMessage(LlmRole.User, string.Concat(Enumerable.Repeat("word ", 210_000)))] };
        var stored = h.Manager.Start(near, new TaskSecrets(HttpHarness.Key));
        h.Manager.Stop([stored.Id]);
        var e = Assert.Throws<LlmTasksException>(() => h.Manager.Start(near with { Messages = [new LlmMessage(LlmRole.User, string.Concat(Enumerable.Repeat("word ", 230_000)))] }));
        Assert.Equal(ErrorIds.ContextWindowExceeded, e.ErrorId);
        Assert.Contains("about 230,00", e.Message);
    }

    [Fact]
    public void An_OpenAI_answer_with_cached_tokens_is_priced_at_the_cached_rate()
    {
        using var h = new HttpHarness(options: o => o with { Streaming = false });
        h.Server.Script(Reply.Json(200, """
            {"id":"c1","object":"chat.completion","created":1730000000,"model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}],
             "usage":{"prompt_tokens":2000,"completion_tokens":10,"total_tokens":2010,"prompt_tokens_details":{"cached_tokens":1024}}}
            """));
        var done = h.Run(HttpHarness.Conversation("openai/gpt-4o-mini"), h.Server.Url + "/v1");
        Assert.Equal(LlmTaskState.Completed, done.State);
        Assert.Equal(2000, done.InputTokens);
        Assert.Equal(((2000 - 1024) * 0.15m + 1024 * 0.075m + 10 * 0.60m) / 1_000_000m, done.CostUsd);
    }
}

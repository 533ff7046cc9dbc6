using LlmTasks.Providers;
using LlmTasks.Providers.Mock;

namespace LlmTasks.Tests.Providers;

public sealed class ModelIdTests
{
    private static readonly string[] Known = ["mock", "openai"];

    [Theory]
    [InlineData("openai/gpt-4o-mini", "openai", "gpt-4o-mini")]
    [InlineData("OpenAI/gpt-4o", "openai", "gpt-4o")]
    [InlineData("mock/delay:250", "mock", "delay:250")]
    [InlineData("openrouter/meta-llama/llama-3-70b", "openrouter", "meta-llama/llama-3-70b")]
    public void Splits_at_the_first_slash(string text, string provider, string model) =>
        Assert.Equal(new ModelId(provider, model), ModelId.Parse(text, Known));

    [Fact]
    public void A_bare_model_names_the_prefixes_in_its_error()
    {
        var error = Assert.Throws<LlmTasksException>(() => ModelId.Parse("gpt-4o", Known));
        Assert.Equal(ErrorIds.InvalidModel, error.ErrorId);
        Assert.Contains("mock/, openai/", error.Message);
        Assert.Contains(ModelId.DefaultProviderVariable, error.Message);
    }

    [Theory]
    [InlineData("echo", 0, false)]
    [InlineData("delay:250", 250, false)]
    [InlineData("fail", 0, true)]
    public void Mock_models_map_to_behaviours(string model, int waitMs, bool fails)
    {
        var behaviour = MockProvider.Behaviour(new ModelId("mock", model));
        Assert.Equal((TimeSpan.FromMilliseconds(waitMs), fails), (behaviour.Wait, behaviour.Fails));
    }

    [Theory]
    [InlineData("delay:")]
    [InlineData("delay:-5")]
    [InlineData("chat")]
    public void Unknown_mock_models_are_refused(string model) =>
        Assert.Equal(ErrorIds.InvalidModel, Assert.Throws<LlmTasksException>(() => MockProvider.Behaviour(new ModelId("mock", model))).ErrorId);
}

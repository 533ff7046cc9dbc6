using LlmTasks.Providers.Azure;
using LlmTasks.Tests.Http;

namespace LlmTasks.Tests.Providers;

public sealed class AzureProviderTests : IDisposable
{
    private readonly HttpHarness _h = new();

    public void Dispose() => _h.Dispose();

    [Fact]
    public void The_deployment_is_the_model_with_api_version_and_api_key_header()
    {
        _h.Environment[AzureOpenAIProvider.EndpointVariable] = _h.Server.Url;
        _h.Environment[AzureOpenAIProvider.KeyVariable] = "azure-key-0000";
        _h.Server.Script(Reply.Json(200, RecordedResponses.OpenAIChat("6.")));
        var done = _h.Run(HttpHarness.Conversation("azure/my-gpt4o"), key: null);

        Assert.Equal(LlmTaskState.Completed, done.State);
        var request = _h.Server.Requests.Single();
        Assert.Equal("/openai/deployments/my-gpt4o/chat/completions?api-version=2024-10-21", request.Target);
        Assert.Equal("azure-key-0000", request.Header("api-key"));
        Assert.Equal(4, request.Json.GetProperty("messages").GetArrayLength());
    }

    [Fact]
    public void An_unknown_api_version_and_a_missing_endpoint_are_clear_failures()
    {
        _h.Environment[AzureOpenAIProvider.VersionVariable] = "1999-01-01";
        var bad = _h.Run(HttpHarness.Conversation("azure/d"), _h.Server.Url);
        Assert.Equal(ErrorIds.InvalidOption, bad.ErrorKind);
        Assert.Contains("2024-10-21", bad.Error);

        var none = _h.Run(HttpHarness.Conversation("azure/d"));
        Assert.Equal(ErrorIds.InvalidApiBase, none.ErrorKind);
        Assert.Contains("$env:AZURE_OPENAI_ENDPOINT", none.Error);
    }
}

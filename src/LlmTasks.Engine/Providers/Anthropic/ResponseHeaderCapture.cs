using System.Net.Http.Headers;
using System.Runtime.CompilerServices;

namespace LlmTasks.Providers.Anthropic;

/// <summary>
/// The Anthropic SDK's exceptions carry no response headers; this handler keeps the headers of an
/// error response in the calling flow's box, so retry-after and Retry-After can be honoured.
/// </summary>
internal sealed class ResponseHeaderCapture : DelegatingHandler
{
    public static readonly AsyncLocal<StrongBox<HttpResponseHeaders?>> Current = new();

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode && Current.Value is { } box)
        {
            box.Value = response.Headers;
        }

        return response;
    }
}

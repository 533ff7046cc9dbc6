using LlmTasks.Providers;
using LlmTasks.Providers.Http;

namespace LlmTasks.Security;

/// <summary>
/// Where a foreign request (read from the store without this user's signature) may send this process's key and prompt: only to
/// an endpoint this process's own configuration names for the provider (its environment's base URL, the provider's default)
/// or $env:LLMTASKS_TRUSTED_API_BASES. Anything else fails the task with <see cref="ErrorIds.UntrustedApiBase"/> before a
/// client is built, so nothing is sent. Requests this process's caller made, and ones that verify, go where they say.
/// </summary>
internal static class TrustedEndpoints
{
    /// <param name="own">The endpoints this process's configuration names for the provider, with where each comes from (a null URL: not set).</param>
    public static void Require(ProviderCallContext context, string provider, Uri endpoint, IReadOnlyList<(string? Url, string Source)> own, ProviderEnvironment settings)
    {
        if (!context.Request.Foreign)
        {
            return;
        }

        if (own.Any(o => o.Url is { } url && Same(endpoint, url)) || settings.TrustedApiBases.Any(entry => Covers(entry, endpoint)))
        {
            return;
        }

        var named = own.Where(o => o.Url is not null).Select(o => $"{o.Source} ({o.Url})").ToList();
        named.Add("$env:" + ProviderEnvironment.TrustedApiBasesVariable);
        throw new LlmTasksException(ErrorIds.UntrustedApiBase, LlmErrorCategory.SecurityError,
            $"Task {context.TaskId} was not run: its stored request sends {provider}/ calls to '{endpoint}', and {context.Request.ForeignReason ?? "it is not signed by this user"}. " +
            $"This process sends its keys and prompts for {provider}/ only to the endpoints its own configuration names: {string.Join(", ", named)}. " +
            $"If you chose this endpoint, add it to $env:{ProviderEnvironment.TrustedApiBasesVariable} in the process that runs the task, or start the task again in your own session with Start-LlmTask -ApiBase.")
        {
            Target = endpoint.ToString(),
        };
    }

    /// <summary>True when <paramref name="text"/> is the same endpoint: scheme, user info, host, port, path (a trailing '/' aside) and query.</summary>
    internal static bool Same(Uri endpoint, string text) =>
        Parse(text) is { } other && string.Equals(Normal(endpoint), Normal(other), StringComparison.Ordinal);

    /// <summary>An allow-list entry covers the endpoints at its URL and under its path: 'https://llm.example.com' covers 'https://llm.example.com/v1'.</summary>
    internal static bool Covers(string entry, Uri endpoint)
    {
        if (Parse(entry) is not { } allowed || !string.Equals(Origin(allowed), Origin(endpoint), StringComparison.Ordinal))
        {
            return false;
        }

        if (!string.IsNullOrEmpty(allowed.Query) || !string.IsNullOrEmpty(endpoint.Query))
        {
            return string.Equals(Normal(allowed), Normal(endpoint), StringComparison.Ordinal);
        }

        var path = Path(allowed);
        var target = Path(endpoint);
        return target == path || path.Length == 0 || target.StartsWith(path + "/", StringComparison.Ordinal);
    }

    private static Uri? Parse(string text) =>
        Uri.TryCreate(text.Trim(), UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps) ? uri : null;

    private static string Origin(Uri uri) => $"{uri.Scheme}://{uri.UserInfo}@{uri.IdnHost.ToLowerInvariant()}:{uri.Port}";

    private static string Path(Uri uri) => uri.AbsolutePath.TrimEnd('/');

    private static string Normal(Uri uri) => $"{Origin(uri)}{Path(uri)}{uri.Query}";
}

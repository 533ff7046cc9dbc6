namespace LlmTasks.Providers.Http;

/// <summary>Settings every HTTP provider's SDK client shares.</summary>
internal static class HttpDefaults
{
    /// <summary>
    /// The SDKs' own network timeout: a backstop only. The engine's retry loop bounds each try
    /// (RetryOptions.AttemptTimeout) and -TimeoutSec bounds the whole call.
    /// </summary>
    public static readonly TimeSpan NetworkTimeout = TimeSpan.FromMinutes(15);

    /// <summary>Placeholder key for local servers that need none (the OpenAI SDK insists on one).</summary>
    public const string NoKey = "no-key";
}

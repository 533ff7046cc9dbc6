namespace LlmTasks;

/// <summary>Every error id the engine raises, in one place so they stay unique and documented.</summary>
public static class ErrorIds
{
    public const string UnknownProvider = "LlmTaskUnknownProvider";
    public const string InvalidModel = "LlmTaskInvalidModel";
    public const string EmptyPrompt = "LlmTaskEmptyPrompt";
    public const string InvalidMessage = "LlmTaskInvalidMessage";
    public const string InvalidTimeout = "LlmTaskInvalidTimeout";
    public const string InvalidOption = "LlmTaskInvalidOption";
    public const string InvalidTemperature = "LlmTaskInvalidTemperature";
    public const string InvalidMaxTokens = "LlmTaskInvalidMaxTokens";
    public const string InvalidMaxTurns = "LlmTaskInvalidMaxTurns";
    public const string InvalidJsonSchema = "LlmTaskInvalidJsonSchema";
    public const string PromptTooLarge = "LlmTaskPromptTooLarge";
    public const string InvalidWildcard = "LlmTaskInvalidWildcard";
    public const string MissingApiKey = "LlmTaskMissingApiKey";
    public const string InvalidApiBase = "LlmTaskInvalidApiBase";
    // The trust boundary around the store (docs/security.md): what a stored request that this user's key does not vouch for may not decide.
    public const string UntrustedApiBase = "LlmTaskUntrustedApiBase";
    public const string UntrustedMcpConfig = "LlmTaskUntrustedMcpConfig";
    public const string UntrustedTools = "LlmTaskUntrustedTools";
    public const string UntrustedWorkingDirectory = "LlmTaskUntrustedWorkingDirectory";
    public const string InvalidVerification = "LlmTaskInvalidVerification";
    public const string NotContinuable = "LlmTaskNotContinuable";
    public const string StoreCorrupt = "LlmTaskStoreCorrupt";
    public const string StoreReadOnly = "LlmTaskStoreReadOnly";
    public const string StoreTooNew = "LlmTaskStoreSchemaTooNew";
    public const string StoreUnavailable = "LlmTaskStoreUnavailable";
    public const string StoreFull = "LlmTaskStoreFull";
    public const string StoreLocationUnknown = "LlmTaskStoreLocationUnknown";
    public const string StoreExists = "LlmTaskStoreExists";
    /// <summary>An environment variable the engine reads is set to a value it cannot use ($env:LLMTASKS_MAX_RETRIES = 'lots').</summary>
    public const string InvalidEnvironment = "LlmTaskInvalidEnvironment";
    public const string InvalidStoreReference = "LlmTaskInvalidStoreReference";
    public const string StoreAccessDenied = "LlmTaskStoreAccessDenied";
    // Provider batches (Start-LlmTask -AsBatch, Get-LlmTaskBatch).
    public const string BatchNotSupported = "LlmTaskBatchNotSupported";
    public const string BatchWithStream = "LlmTaskBatchWithStream";
    public const string LiveReaskWithoutBatch = "LlmTaskLiveReaskWithoutBatch";
    // Limits and prices (rate limits, fallbacks, budgets, the price map).
    /// <summary>$env:LLMTASKS_MODEL_PRICES names a file that is not a readable price map.</summary>
    public const string InvalidModelPrices = "LlmTaskInvalidModelPrices";
    /// <summary>The prompt is clearly longer than the model's context window: refused before anything is sent.</summary>
    public const string ContextWindowExceeded = "LlmTaskContextWindowExceeded";
    /// <summary>Get-LlmModel was asked for a model (no wildcards) that the price map does not have.</summary>
    public const string ModelNotFound = "LlmTaskModelNotFound";
    /// <summary>Set-LlmRateLimit was given a scope or a number it cannot use.</summary>
    public const string InvalidRateLimit = "LlmTaskInvalidRateLimit";
    /// <summary>Remove-LlmRateLimit was given a scope the session set no limit for.</summary>
    public const string RateLimitNotFound = "LlmTaskRateLimitNotFound";
    /// <summary>Set-LlmBudget was given a scope, period or cap it cannot use.</summary>
    public const string InvalidBudget = "LlmTaskInvalidBudget";
    /// <summary>Remove-LlmBudget was given a scope and period the store has no budget for.</summary>
    public const string BudgetNotFound = "LlmTaskBudgetNotFound";
    /// <summary>-Fallback or -FallbackOn was given something it cannot use.</summary>
    public const string InvalidFallback = "LlmTaskInvalidFallback";
    /// <summary>-MaxCostUsd is not more than 0 or is past the most a cap may say.</summary>
    public const string InvalidMaxCost = "LlmTaskInvalidMaxCost";
    // The task board (Start-LlmTaskBoard).
    /// <summary>A board option (-Port …) is out of range.</summary>
    public const string InvalidBoardOption = "LlmTaskInvalidBoardOption";
    /// <summary>The port asked for is in use or cannot be listened on.</summary>
    public const string BoardPortUnavailable = "LlmTaskBoardPortUnavailable";
    /// <summary>Get-/Stop-LlmTaskBoard was given an id no board of this session has.</summary>
    public const string BoardNotFound = "LlmTaskBoardNotFound";
}

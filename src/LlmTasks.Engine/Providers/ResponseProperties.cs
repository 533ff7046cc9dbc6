namespace LlmTasks.Providers;

/// <summary>
/// Keys a provider's client may set in ChatResponse.AdditionalProperties to hand the engine more
/// than text: the structured answer it parsed natively, and facts worth keeping on the attempt.
/// </summary>
public static class ResponseProperties
{
    /// <summary>The answer as JSON text (a string), when the provider returns structured output natively.</summary>
    public const string StructuredOutput = "llmtasks.structured_output";

    /// <summary>A JSON object (a string) stored on the attempt: session id, turns, permission denials …</summary>
    public const string Details = "llmtasks.details";

    /// <summary>The call's cost in USD (a decimal), when the provider reports it.</summary>
    public const string CostUsd = "llmtasks.cost_usd";

    /// <summary>
    /// On a stream's last update: the answer's text when it is not all the streamed pieces (max/*: the CLI streams every
    /// turn's text, and the answer is the last turn's). The pieces were the partial output; this is the output.
    /// </summary>
    public const string FinalText = "llmtasks.final_text";
}

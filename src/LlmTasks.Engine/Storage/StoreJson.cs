using System.Text.Json;
using System.Text.Json.Serialization;

namespace LlmTasks.Storage;

/// <summary>The JSON form of a request as stored in tasks.request_json and attempts.request_json.</summary>
internal static class StoreJson
{
    public static string Serialize(LlmTaskRequest request) =>
        JsonSerializer.Serialize(StoredRequest.From(request), StoreJsonContext.Default.StoredRequest);

    /// <summary>The messages of a stored request, or none when there is no request or it cannot be read (a display helper: never throws).</summary>
    /// <summary>The model a stored request names, or null when it cannot be read.</summary>
    public static string? TryReadModel(string? json)
    {
        if (string.IsNullOrWhiteSpace(json))
        {
            return null;
        }

        try
        {
            return JsonSerializer.Deserialize(json, StoreJsonContext.Default.StoredRequest)?.Model;
        }
        catch (Exception e) when (e is JsonException or ArgumentException)
        {
            return null;
        }
    }

    public static IReadOnlyList<LlmMessage> TryReadMessages(string? json)
    {
        if (string.IsNullOrWhiteSpace(json))
        {
            return [];
        }

        try
        {
            return JsonSerializer.Deserialize(json, StoreJsonContext.Default.StoredRequest)?.Messages.Select(m => m.ToMessage()).ToArray() ?? [];
        }
        catch (Exception e) when (e is JsonException or ArgumentException)
        {
            return [];
        }
    }

    public static LlmTaskRequest Deserialize(string json) =>
        (JsonSerializer.Deserialize(json, StoreJsonContext.Default.StoredRequest)
            ?? throw new JsonException("The stored request is empty.")).ToRequest();
}

internal sealed record StoredMessage(string Role, string Content)
{
    public static StoredMessage From(LlmMessage m) => new(m.Role.ToString().ToLowerInvariant(), m.Content);

    public LlmMessage ToMessage() => new(Enum.Parse<LlmRole>(Role, ignoreCase: true), Content);
}

internal sealed record StoredRequest
{
    public required string Model { get; init; }
    public required StoredMessage[] Messages { get; init; }
    public string? Name { get; init; }
    public double? Temperature { get; init; }
    public int? MaxTokens { get; init; }
    public double? TimeoutSec { get; init; }
    public string? MockResponse { get; init; }
    public string[]? StopSequences { get; init; }
    public LlmResponseFormat? ResponseFormat { get; init; }
    public string? JsonSchema { get; init; }
    public string? ApiBase { get; init; }
    public bool? ApiKeyGiven { get; init; }
    public ProviderOptions? ProviderOptions { get; init; }
    public Verification.VerificationPlan? Verification { get; init; }
    /// <summary>Sent in a provider batch (absent when not, so that requests stored before batches keep their signatures).</summary>
    public bool? Batch { get; init; }
    public string[]? Fallbacks { get; init; }
    public string[]? FallbackOn { get; init; }
    /// <summary>-MaxCostUsd (absent when not given: requests stored before it keep their signatures).</summary>
    public decimal? MaxCostUsd { get; init; }
    /// <summary>The user's signature over everything else (Security.RequestSignature); checked when the request is read.</summary>
    public string? Signature { get; init; }

    public static StoredRequest From(LlmTaskRequest r) => new()
    {
        Model = r.Model,
        Messages = r.Messages.Select(StoredMessage.From).ToArray(),
        Name = r.Name,
        Temperature = r.Temperature,
        MaxTokens = r.MaxTokens,
        TimeoutSec = r.TimeoutSec,
        MockResponse = r.MockResponse,
        StopSequences = r.StopSequences?.ToArray(),
        ResponseFormat = r.ResponseFormat == LlmResponseFormat.Text ? null : r.ResponseFormat,
        JsonSchema = r.JsonSchema,
        ApiBase = r.ApiBase,
        ApiKeyGiven = r.ApiKeyGiven ? true : null,
        ProviderOptions = r.ProviderOptions is { IsEmpty: false } options ? options : null,
        Verification = r.Verification,
        Batch = r.Batch ? true : null,
        Fallbacks = r.Fallbacks is { Count: > 0 } fallbacks ? fallbacks.ToArray() : null,
        FallbackOn = r.FallbackOn?.ToArray(),
        MaxCostUsd = r.MaxCostUsd,
        Signature = r.Signature,
    };

    /// <summary>The request, checked against this user's key: one that does not verify is foreign (see LlmTaskRequest.Foreign).</summary>
    public LlmTaskRequest ToRequest()
    {
        var trust = Security.RequestSignature.Check(this);
        return new()
        {
            Model = Model,
            Messages = Messages.Select(m => m.ToMessage()).ToArray(),
            Name = Name,
            Temperature = Temperature,
            MaxTokens = MaxTokens,
            TimeoutSec = TimeoutSec,
            MockResponse = MockResponse,
            StopSequences = StopSequences,
            ResponseFormat = ResponseFormat ?? LlmResponseFormat.Text,
            JsonSchema = JsonSchema,
            ApiBase = ApiBase,
            ApiKeyGiven = ApiKeyGiven == true,
            ProviderOptions = ProviderOptions,
            // A signed script block is the user's own, as if it were given in this process; an unsigned one needs the opt-in.
            Verification = trust.Verified ? Security.RequestSignature.TrustScripts(Verification) : Verification,
            Batch = Batch == true,
            Fallbacks = Fallbacks,
            FallbackOn = FallbackOn,
            MaxCostUsd = MaxCostUsd,
            Signature = Signature,
            Foreign = !trust.Verified,
            ForeignReason = trust.Problem,
        };
    }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, UseStringEnumConverter = true)]
[JsonSerializable(typeof(StoredRequest))]
internal sealed partial class StoreJsonContext : JsonSerializerContext;

using System.Buffers;
using System.Security.Cryptography;
using System.Text.Json;
using LlmTasks.Providers.Http;
using LlmTasks.Storage;
using LlmTasks.Verification;

namespace LlmTasks.Security;

/// <summary>
/// Signs a request when this process's caller starts or restarts a task, and checks the signature of a request read back from
/// the store. The signature is an HMAC-SHA256, with the key private to the user (<see cref="SigningKeyring"/>), over the whole
/// request as stored (model, messages, -ApiBase, provider options, verification spec with its script blocks …) in a canonical
/// JSON form (keys sorted, so a store that reorders JSON keeps it valid): <c>v1.&lt;key id&gt;.&lt;mac&gt;</c>. Whoever can
/// write the store but not read the key cannot make a request verify, so a runner trusts a verified request as its user's own
/// and gives any other request only what its own configuration allows (docs/security.md, "Trust model").
/// </summary>
internal static class RequestSignature
{
    private const string Version = "v1";

    /// <summary>What checking a stored request found: verified, or why not.</summary>
    internal readonly record struct Verdict(bool Verified, string? Problem);

    /// <summary>
    /// The request with this user's signature; a foreign request (made from a stored one that did not verify) stays unsigned,
    /// so changing or continuing it never makes what someone else wrote into the store the user's own.
    /// </summary>
    public static LlmTaskRequest Sign(LlmTaskRequest request, ProviderEnvironment? settings = null)
    {
        if (request.Foreign)
        {
            return request.Signature is null ? request : request with { Signature = null };
        }

        var key = SigningKeyring.Process.ForSigning(settings ?? ProviderEnvironment.Process);
        return request with { Signature = Compute(key, StoredRequest.From(request with { Signature = null })) };
    }

    /// <summary>Checks a stored request against this user's key (and this process's own, if it signed with it).</summary>
    public static Verdict Check(StoredRequest stored)
    {
        if (string.IsNullOrEmpty(stored.Signature))
        {
            return new(false, "it carries no signature (it was stored by another user, by an LlmTasks version without signatures, or written into the store directly)");
        }

        var parts = stored.Signature.Split('.');
        if (parts.Length != 3 || parts[0] != Version)
        {
            return new(false, "its signature is not one this version of LlmTasks can check");
        }

        var keys = SigningKeyring.Process.ForChecking(ProviderEnvironment.Process);
        var key = keys.FirstOrDefault(k => k.Id == parts[1]);
        if (key is null)
        {
            return new(false, keys.Count == 0
                ? $"it is signed with key {parts[1]}, and this process has no signing key to check it with"
                : $"it is signed with key {parts[1]}, not with this user's key ({keys[0].Id})");
        }

        byte[] given;
        try
        {
            given = Base64UrlDecode(parts[2]);
        }
        catch (FormatException)
        {
            return new(false, "its signature is not one this version of LlmTasks can check");
        }

        return CryptographicOperations.FixedTimeEquals(Mac(key, stored with { Signature = null }), given)
            ? new(true, null)
            : new(false, "its signature does not match what it asks for: it was changed after it was signed");
    }

    /// <summary>The plan with its script blocks marked as the user's own (they came with a request that verified).</summary>
    public static VerificationPlan? TrustScripts(VerificationPlan? plan) =>
        plan is null || !plan.Checks.Any(IsScript)
            ? plan
            : plan with { Checks = plan.Checks.Select(c => IsScript(c) ? c with { ScriptTrusted = true } : c).ToArray() };

    private static bool IsScript(CheckSpec check) => string.Equals(check.Type, "Script", StringComparison.OrdinalIgnoreCase);

    internal static string Compute(SigningKey key, StoredRequest unsigned) => $"{Version}.{key.Id}.{Base64UrlEncode(Mac(key, unsigned))}";

    private static byte[] Mac(SigningKey key, StoredRequest unsigned)
    {
        using var hmac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, key.Bytes);
        hmac.AppendData("LlmTasks request signature v1\n"u8);
        hmac.AppendData(Canonical(unsigned));
        return hmac.GetHashAndReset();
    }

    /// <summary>The request as JSON with every object's keys in ordinal order, and no whitespace.</summary>
    internal static byte[] Canonical(StoredRequest request)
    {
        var json = JsonSerializer.SerializeToUtf8Bytes(request, StoreJsonContext.Default.StoredRequest);
        using var document = JsonDocument.Parse(json);
        var buffer = new ArrayBufferWriter<byte>(json.Length + 16);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            Write(writer, document.RootElement);
        }

        return buffer.WrittenSpan.ToArray();
    }

    private static void Write(Utf8JsonWriter writer, JsonElement element)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                writer.WriteStartObject();
                foreach (var property in element.EnumerateObject().OrderBy(p => p.Name, StringComparer.Ordinal))
                {
                    writer.WritePropertyName(property.Name);
                    Write(writer, property.Value);
                }

                writer.WriteEndObject();
                break;
            case JsonValueKind.Array:
                writer.WriteStartArray();
                foreach (var item in element.EnumerateArray())
                {
                    Write(writer, item);
                }

                writer.WriteEndArray();
                break;
            default:
                // Strings, numbers, true, false, null as this serializer wrote them from the object (so the same object always gives the same text).
                writer.WriteRawValue(element.GetRawText(), skipInputValidation: true);
                break;
        }
    }

    private static string Base64UrlEncode(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static byte[] Base64UrlDecode(string text)
    {
        var padded = text.Replace('-', '+').Replace('_', '/');
        return Convert.FromBase64String(padded + new string('=', (4 - padded.Length % 4) % 4));
    }
}

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
/// JSON form, so a store that reorders JSON keeps it valid: <c>v2.&lt;key id&gt;.&lt;mac&gt;</c>. The v2 form is the request as
/// this serializer writes the typed <see cref="StoredRequest"/> read back from the store: every member is typed (no dictionary
/// or raw JSON whose order would follow the stored text), so the bytes depend on what the request asks for, never on how a
/// store laid it out, and signing costs one serialization. Requests signed with v1 (every object's keys re-sorted through a
/// JSON document, several times the cost per task) still verify. Whoever can
/// write the store but not read the key cannot make a request verify, so a runner trusts a verified request as its user's own
/// and gives any other request only what its own configuration allows (docs/security.md, "Trust model").
/// </summary>
internal static class RequestSignature
{
    private const string Version = "v2";
    private const string LegacyVersion = "v1";

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
        var unsigned = StoredRequest.From(request);
        return request with { Signature = Compute(key, unsigned.Signature is null ? unsigned : unsigned with { Signature = null }) };
    }

    /// <summary>Checks a stored request against this user's key (and this process's own, if it signed with it).</summary>
    public static Verdict Check(StoredRequest stored)
    {
        if (string.IsNullOrEmpty(stored.Signature))
        {
            return new(false, "it carries no signature (it was stored by another user, by an LlmTasks version without signatures, or written into the store directly)");
        }

        var parts = stored.Signature.Split('.');
        if (parts.Length != 3 || parts[0] is not (Version or LegacyVersion))
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

        return CryptographicOperations.FixedTimeEquals(Mac(key, stored with { Signature = null }, legacy: parts[0] == LegacyVersion), given)
            ? new(true, null)
            : new(false, "its signature does not match what it asks for: it was changed after it was signed");
    }

    /// <summary>The plan with its script blocks marked as the user's own (they came with a request that verified).</summary>
    public static VerificationPlan? TrustScripts(VerificationPlan? plan) =>
        plan is null || !plan.Checks.Any(IsScript)
            ? plan
            : plan with { Checks = plan.Checks.Select(c => IsScript(c) ? c with { ScriptTrusted = true } : c).ToArray() };

    private static bool IsScript(CheckSpec check) => string.Equals(check.Type, "Script", StringComparison.OrdinalIgnoreCase);

    internal static string Compute(SigningKey key, StoredRequest unsigned) =>
        string.Concat(Version + ".", key.Id, ".", Base64UrlEncode(Mac(key, unsigned, legacy: false)));

    /// <summary>A buffer per thread for the signed bytes (a burst of piped prompts signs one request after another).</summary>
    [ThreadStatic]
    private static ArrayBufferWriter<byte>? t_buffer;

    [ThreadStatic]
    private static Utf8JsonWriter? t_writer;

    private static byte[] Mac(SigningKey key, StoredRequest unsigned, bool legacy)
    {
        var buffer = t_buffer ??= new ArrayBufferWriter<byte>(1024);
        buffer.ResetWrittenCount();
        if (legacy)
        {
            buffer.Write("LlmTasks request signature v1\n"u8);
            buffer.Write(LegacyCanonical(unsigned));
        }
        else
        {
            buffer.Write("LlmTasks request signature v2\n"u8);
            var writer = t_writer ??= new Utf8JsonWriter(buffer);
            writer.Reset(buffer);
            JsonSerializer.Serialize(writer, unsigned, StoreJsonContext.Default.StoredRequest);
            writer.Flush();
        }

        var mac = HMACSHA256.HashData(key.Bytes, buffer.WrittenSpan);
        if (buffer.Capacity > 64 * 1024)
        {
            t_buffer = null; // a long conversation's buffer is not kept for the thread's lifetime
            t_writer = null;
        }

        return mac;
    }

    /// <summary>The v1 form: the request as JSON with every object's keys in ordinal order, and no whitespace.</summary>
    internal static byte[] LegacyCanonical(StoredRequest request)
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

    /// <summary>A MAC as base64url without padding, made in one string.</summary>
    private static string Base64UrlEncode(byte[] bytes)
    {
        Span<char> chars = stackalloc char[(bytes.Length + 2) / 3 * 4];
        Convert.TryToBase64Chars(bytes, chars, out var length);
        while (length > 0 && chars[length - 1] == '=')
        {
            length--;
        }

        chars = chars[..length];
        chars.Replace('+', '-');
        chars.Replace('/', '_');
        return new string(chars);
    }

    private static byte[] Base64UrlDecode(string text)
    {
        var padded = text.Replace('-', '+').Replace('_', '/');
        return Convert.FromBase64String(padded + new string('=', (4 - padded.Length % 4) % 4));
    }
}

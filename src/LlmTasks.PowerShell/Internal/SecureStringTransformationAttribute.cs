using System.Management.Automation;
using System.Security;

namespace LlmTasks.PowerShell.Internal;

/// <summary>
/// Lets -ApiKey take a plain string ($env:OPENAI_API_KEY) as well as a SecureString. Without it,
/// PowerShell's own binding error would quote the string, so the key would land in $Error and transcripts.
/// </summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Field)]
public sealed class SecureStringTransformationAttribute : ArgumentTransformationAttribute
{
    public override object Transform(EngineIntrinsics engineIntrinsics, object inputData)
    {
        var value = inputData is PSObject wrapped ? wrapped.BaseObject : inputData;
        switch (value)
        {
            case SecureString secure:
                return secure;
            case string text:
                var converted = new SecureString();
                foreach (var c in text)
                {
                    converted.AppendChar(c);
                }

                converted.MakeReadOnly();
                return converted;
            default:
                throw new ArgumentTransformationMetadataException(
                    $"-ApiKey takes a SecureString or a string, not a {value?.GetType().Name ?? "null"}.");
        }
    }
}

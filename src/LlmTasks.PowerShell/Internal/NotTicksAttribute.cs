using System.Management.Automation;

namespace LlmTasks.PowerShell.Internal;

/// <summary>
/// A TimeSpan parameter refuses a bare number: PowerShell converts 30 to 30 ticks (3 µs), so
/// Remove-LlmTask -OlderThan 30, meant as 30 days, would remove everything that finished. Zero means the
/// same in any unit and is let through; strings ('30' is 30 days), TimeSpans and New-TimeSpan are as usual.
/// </summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Field)]
public sealed class NotTicksAttribute(string parameterName) : ArgumentTransformationAttribute
{
    public override object? Transform(EngineIntrinsics engineIntrinsics, object? inputData)
    {
        var value = inputData is PSObject wrapped ? wrapped.BaseObject : inputData;
        if (value is not (byte or sbyte or short or ushort or int or uint or long or ulong or float or double or decimal))
        {
            return inputData;
        }

        if (Convert.ToDecimal(value, System.Globalization.CultureInfo.InvariantCulture) == 0)
        {
            return TimeSpan.Zero;
        }

        throw new ArgumentTransformationMetadataException(
            $"-{parameterName} takes a time span, not the number {value} (PowerShell would read it as {value} ticks, a few microseconds). "
            + $"Write the days and time: -{parameterName} 30.00:00:00, -{parameterName} (New-TimeSpan -Days 30) or -{parameterName} ([timespan]::FromHours(12)).");
    }
}

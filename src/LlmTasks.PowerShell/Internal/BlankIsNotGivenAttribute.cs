using System.Collections;
using System.Management.Automation;

namespace LlmTasks.PowerShell.Internal;

/// <summary>
/// An empty value is the same as leaving the parameter out: an empty CSV cell (Import-Csv gives ''),
/// a JSON null, or an array of only such values binds as $null instead of '' or 0. Options that bind
/// by property name carry it, so that a row that leaves a column empty gets the default.
/// </summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Field)]
public sealed class BlankIsNotGivenAttribute : ArgumentTransformationAttribute
{
    public override object? Transform(EngineIntrinsics engineIntrinsics, object? inputData) => IsBlank(inputData) ? null : inputData;

    public static bool IsBlank(object? value)
    {
        value = value is PSObject wrapped ? wrapped.BaseObject : value;
        return value switch
        {
            null => true,
            string text => text.Length == 0,
            IList list => list.Count == 0 || list.Cast<object?>().All(IsBlank),
            _ => false,
        };
    }
}

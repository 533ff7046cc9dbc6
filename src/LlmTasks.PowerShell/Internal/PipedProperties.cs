using System.Globalization;
using System.Management.Automation;

namespace LlmTasks.PowerShell.Internal;

/// <summary>
/// PowerShell leaves a ByPropertyName parameter unbound, without a word, when a piped object's property
/// does not convert to it (Temperature = 'very', ResponseFormat = 'xml') but the object bound otherwise.
/// A task must not run without the option its row asked for: this finds such properties, so the
/// record is refused with an error naming them.
/// </summary>
internal static class PipedProperties
{
    public static void ThrowIfDropped(PSCmdlet cmdlet, PSObject piped, ICollection<string> commandLine)
    {
        foreach (var parameter in cmdlet.MyInvocation.MyCommand.Parameters.Values)
        {
            if (commandLine.Contains(parameter.Name)
                || !parameter.Attributes.OfType<ParameterAttribute>().Any(a => a.ValueFromPipelineByPropertyName)
                || cmdlet.GetType().GetProperty(parameter.Name)?.GetValue(cmdlet) is not null)
            {
                continue;
            }

            var property = piped.Properties[parameter.Name] ?? parameter.Aliases.Select(a => piped.Properties[a]).FirstOrDefault(p => p is not null);
            if (property is null || BlankIsNotGivenAttribute.IsBlank(property.Value))
            {
                continue;
            }

            throw new LlmTasksException(ErrorRecords.InvalidInput, LlmErrorCategory.InvalidArgument,
                $"The piped object's {property.Name} cannot be used as -{parameter.Name}: {Why(parameter, property.Value)} Nothing was started for it.") { Target = piped };
        }
    }

    private static string Why(ParameterMetadata parameter, object? value)
    {
        try
        {
            foreach (var transformation in parameter.Attributes.OfType<ArgumentTransformationAttribute>())
            {
                value = transformation.Transform(null!, value);
            }

            LanguagePrimitives.ConvertTo(value, parameter.ParameterType, CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is PSInvalidCastException or ArgumentTransformationMetadataException or InvalidCastException or FormatException or ArgumentException)
        {
            return e.Message;
        }

        var allowed = parameter.Attributes.OfType<ValidateSetAttribute>().FirstOrDefault()?.ValidValues;
        return allowed is null ? $"'{value}' is not a valid value." : $"'{value}' is not one of {string.Join(", ", allowed)}.";
    }
}

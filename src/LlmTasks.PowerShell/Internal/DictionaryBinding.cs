using System.Collections;
using System.Globalization;
using System.Management.Automation;
using System.Reflection;

namespace LlmTasks.PowerShell.Internal;

/// <summary>
/// PowerShell binds a piped object's properties to ValueFromPipelineByPropertyName parameters, but
/// never a hashtable's keys. This binds a piped dictionary's keys the same way, for one record: by
/// parameter name or alias (any case), through the parameter's transformations and PowerShell's type
/// conversion, never over a parameter given on the command line. Disposing it puts the parameters
/// back, as PowerShell resets pipeline-bound parameters between records.
/// </summary>
internal sealed class DictionaryBinding : IDisposable
{
    private readonly Cmdlet _cmdlet;
    private readonly List<(PropertyInfo Property, object? Before)> _bound = [];

    private DictionaryBinding(Cmdlet cmdlet) => _cmdlet = cmdlet;

    public static DictionaryBinding Bind(PSCmdlet cmdlet, IDictionary input, ICollection<string> commandLine)
    {
        var binding = new DictionaryBinding(cmdlet);
        var parameters = cmdlet.MyInvocation.MyCommand.Parameters.Values
            .Where(p => p.Attributes.OfType<ParameterAttribute>().Any(a => a.ValueFromPipelineByPropertyName))
            .ToList();
        try
        {
            foreach (DictionaryEntry entry in input)
            {
                var key = entry.Key?.ToString();
                var parameter = parameters.FirstOrDefault(p => string.Equals(p.Name, key, StringComparison.OrdinalIgnoreCase)
                                                               || p.Aliases.Any(a => string.Equals(a, key, StringComparison.OrdinalIgnoreCase)));
                if (parameter is null || commandLine.Contains(parameter.Name))
                {
                    continue; // as an object's other properties are: not for this cmdlet, or given on the command line
                }

                binding.Set(parameter, entry.Value);
            }
        }
        catch
        {
            binding.Dispose();
            throw;
        }

        return binding;
    }

    private void Set(ParameterMetadata parameter, object? value)
    {
        try
        {
            foreach (var transformation in parameter.Attributes.OfType<ArgumentTransformationAttribute>())
            {
                value = transformation.Transform(null!, value);
            }

            var converted = value is null ? null : LanguagePrimitives.ConvertTo(value, parameter.ParameterType, CultureInfo.InvariantCulture);
            var property = _cmdlet.GetType().GetProperty(parameter.Name)!;
            var before = property.GetValue(_cmdlet);
            property.SetValue(_cmdlet, converted);
            _bound.Add((property, before));
        }
        catch (Exception e) when (e is PSInvalidCastException or ArgumentTransformationMetadataException or InvalidCastException or FormatException or ArgumentException)
        {
            throw new LlmTasksException(ErrorRecords.InvalidInput, LlmErrorCategory.InvalidArgument,
                $"The piped hashtable's '{parameter.Name}' cannot be used as -{parameter.Name}: {e.Message}") { Target = value };
        }
    }

    public void Dispose()
    {
        for (var i = _bound.Count - 1; i >= 0; i--)
        {
            _bound[i].Property.SetValue(_cmdlet, _bound[i].Before);
        }

        _bound.Clear();
    }
}

using System.Collections;
using System.Collections.Concurrent;
using System.Globalization;
using System.Management.Automation;
using System.Reflection;

namespace LlmTasks.PowerShell.Internal;

/// <summary>
/// Marks a parameter that a piped object's property (or a piped hashtable's key) of the same name or
/// alias binds to, read by <see cref="PipedObjectBinding"/> rather than by PowerShell's binder.
/// </summary>
[AttributeUsage(AttributeTargets.Property)]
internal sealed class FromPipedObjectAttribute : Attribute;

/// <summary>
/// Binds one piped object's properties (Import-Csv rows, ConvertFrom-Json and Select-Object output,
/// [pscustomobject]s, deserialized objects) or a piped hashtable's keys to the parameters marked
/// <see cref="FromPipedObjectAttribute"/>, as PowerShell's by-property-name binding would: by parameter
/// name, else alias, in any case; through the parameter's transformations, PowerShell's type conversion
/// and its ValidateSet; never over a parameter given on the command line. Disposing it puts the
/// parameters back, as PowerShell resets pipeline-bound parameters between records.
/// </summary>
/// <remarks>
/// Why not ValueFromPipelineByPropertyName: PowerShell looks every such parameter up on every piped
/// record, plain strings included (twice: without and with type conversion), about 1.5 µs per parameter
/// per record; with seventeen of them that was most of what piping a prompt cost. This reads only
/// objects that are not text, walks their own properties once, and so costs a piped string nothing.
/// Unlike PowerShell's binder it also refuses a value that does not convert instead of leaving the
/// option out without a word.
/// </remarks>
internal sealed class PipedObjectBinding : IDisposable
{
    /// <summary>PowerShell's own id for an argument outside a parameter's ValidateSet.</summary>
    public const string ValidationErrorId = "ParameterArgumentValidationError";

    private static readonly ConcurrentDictionary<Type, Bindable[]> Bindables = new();

    private readonly Cmdlet _cmdlet;
    private readonly List<(PropertyInfo Property, object? Before)> _bound = [];

    private PipedObjectBinding(Cmdlet cmdlet) => _cmdlet = cmdlet;

    /// <summary>One parameter a piped object may bind.</summary>
    private sealed record Bindable(string Name, string[] Aliases, PropertyInfo Property, ArgumentTransformationAttribute[] Transformations, ValidateSetAttribute? Set)
    {
        public Type Type => Property.PropertyType;

        /// <summary>0: the name matches; 1 + n: alias n does; -1: neither.</summary>
        public int Match(string? key)
        {
            if (string.Equals(Name, key, StringComparison.OrdinalIgnoreCase))
            {
                return 0;
            }

            for (var i = 0; i < Aliases.Length; i++)
            {
                if (string.Equals(Aliases[i], key, StringComparison.OrdinalIgnoreCase))
                {
                    return 1 + i;
                }
            }

            return -1;
        }
    }

    /// <summary>Binds <paramref name="piped"/>'s properties (a dictionary's keys) for one record.</summary>
    /// <exception cref="LlmTasksException">A value does not convert or is not allowed; nothing stays bound.</exception>
    public static PipedObjectBinding Bind(PSCmdlet cmdlet, PSObject piped, ICollection<string> commandLine)
    {
        var bindables = For(cmdlet.GetType());
        var found = new Found?[bindables.Length];
        var dictionary = piped.BaseObject as IDictionary;
        if (dictionary is not null)
        {
            foreach (DictionaryEntry entry in dictionary)
            {
                Offer(bindables, found, entry.Key?.ToString(), null, entry.Value);
            }
        }
        else
        {
            foreach (var property in piped.Properties)
            {
                Offer(bindables, found, property.Name, property, null);
            }
        }

        var binding = new PipedObjectBinding(cmdlet);
        try
        {
            for (var i = 0; i < bindables.Length; i++)
            {
                if (found[i] is { } hit && !commandLine.Contains(bindables[i].Name))
                {
                    binding.Set(bindables[i], hit, dictionary is null ? "object" : "hashtable", piped);
                }
            }
        }
        catch
        {
            binding.Dispose();
            throw;
        }

        return binding;
    }

    /// <summary>A property (or a dictionary entry's value) that names a parameter; the best <see cref="Rank"/> wins.</summary>
    private readonly record struct Found(int Rank, string Key, PSPropertyInfo? Property, object? Value);

    private static void Offer(Bindable[] bindables, Found?[] found, string? key, PSPropertyInfo? property, object? value)
    {
        for (var i = 0; i < bindables.Length; i++)
        {
            var rank = bindables[i].Match(key);
            if (rank >= 0 && (found[i] is not { } had || rank < had.Rank))
            {
                found[i] = new Found(rank, key!, property, value);
            }
        }
    }

    private void Set(Bindable parameter, Found hit, string what, PSObject piped)
    {
        var key = hit.Key;
        var value = hit.Value;
        if (hit.Property is { } property)
        {
            try
            {
                value = property.Value;
            }
            catch (Exception e) when (e is GetValueException or ExtendedTypeSystemException)
            {
                throw new LlmTasksException(ErrorRecords.InvalidInput, LlmErrorCategory.InvalidArgument,
                    $"The piped {what}'s {key} cannot be read: {e.Message} Nothing was started for it.") { Target = piped };
            }
        }

        object? converted;
        try
        {
            foreach (var transformation in parameter.Transformations)
            {
                value = transformation.Transform(null!, value);
            }

            // An [object] parameter takes the value as it is, as PowerShell binds it (a hashtable, a PSObject).
            converted = value is null || parameter.Type == typeof(object) ? value : LanguagePrimitives.ConvertTo(value, parameter.Type, CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is PSInvalidCastException or ArgumentTransformationMetadataException or InvalidCastException or FormatException or ArgumentException)
        {
            throw new LlmTasksException(ErrorRecords.InvalidInput, LlmErrorCategory.InvalidArgument,
                $"The piped {what}'s {key} cannot be used as -{parameter.Name}: {e.Message} Nothing was started for it.") { Target = piped };
        }

        if (parameter.Set is { } set && converted is string text
            && !set.ValidValues.Contains(text, set.IgnoreCase ? StringComparer.OrdinalIgnoreCase : StringComparer.Ordinal))
        {
            throw new LlmTasksException(ValidationErrorId, LlmErrorCategory.InvalidData,
                $"Cannot validate argument on parameter '{parameter.Name}': the piped {what}'s {key} '{text}' is not one of {string.Join(", ", set.ValidValues)}. Nothing was started for it.") { Target = piped };
        }

        var before = parameter.Property.GetValue(_cmdlet);
        parameter.Property.SetValue(_cmdlet, converted);
        _bound.Add((parameter.Property, before));
    }

    private static Bindable[] For(Type cmdletType) => Bindables.GetOrAdd(cmdletType, static type =>
        type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.IsDefined(typeof(FromPipedObjectAttribute)))
            .Select(p =>
            {
                var validation = p.GetCustomAttributes<ValidateArgumentsAttribute>().ToList();
                if (validation.Any(v => v is not ValidateSetAttribute))
                {
                    // Only ValidateSet is checked here: a parameter with another check must not bind unchecked.
                    throw new InvalidOperationException($"-{p.Name} has a validation attribute {nameof(PipedObjectBinding)} does not apply.");
                }

                return new Bindable(p.Name, p.GetCustomAttributes<AliasAttribute>().SelectMany(a => a.AliasNames).ToArray(), p,
                    p.GetCustomAttributes<ArgumentTransformationAttribute>().ToArray(), validation.OfType<ValidateSetAttribute>().FirstOrDefault());
            })
            .ToArray());

    public void Dispose()
    {
        for (var i = _bound.Count - 1; i >= 0; i--)
        {
            _bound[i].Property.SetValue(_cmdlet, _bound[i].Before);
        }

        _bound.Clear();
    }
}

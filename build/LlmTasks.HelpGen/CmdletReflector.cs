using System.Collections.ObjectModel;
using System.Reflection;

namespace LlmTasks.HelpGen;

/// <summary>
/// Reads the cmdlets of a compiled assembly with <see cref="MetadataLoadContext"/>: attributes as
/// metadata, so no code of the module (its import hook, its engine) runs, and the assembly's
/// references only need to be present, not loadable into this process.
/// </summary>
internal static class CmdletReflector
{
    private const string Sma = "System.Management.Automation.";

    public static IReadOnlyList<CmdletFacts> Read(string assemblyPath, IEnumerable<string> references)
    {
        var paths = references.Where(File.Exists).Append(assemblyPath).Distinct(StringComparer.Ordinal).ToList();
        using var context = new MetadataLoadContext(new PathAssemblyResolver(paths));
        var assembly = context.LoadFromAssemblyPath(assemblyPath);
        return assembly.GetExportedTypes()
            .Where(t => t is { IsClass: true, IsAbstract: false })
            .Select(t => (Type: t, Cmdlet: Attribute(t.GetCustomAttributesData(), "CmdletAttribute")))
            .Where(t => t.Cmdlet is not null)
            .Select(t => ReadCmdlet(t.Type, t.Cmdlet!))
            .OrderBy(c => c.Name, StringComparer.Ordinal)
            .ToList();
    }

    private static CmdletFacts ReadCmdlet(Type type, CustomAttributeData cmdlet)
    {
        var verb = (string)cmdlet.ConstructorArguments[0].Value!;
        var noun = (string)cmdlet.ConstructorArguments[1].Value!;
        var defaultSet = Named<string>(cmdlet, "DefaultParameterSetName");
        var parameters = type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Select(ReadParameter)
            .OfType<ParameterFacts>()
            .ToList();
        if (Named<bool>(cmdlet, "SupportsShouldProcess"))
        {
            parameters.Add(CommonSwitch("WhatIf", "wi"));
            parameters.Add(CommonSwitch("Confirm", "cf"));
        }

        var sets = parameters.SelectMany(p => p.Sets).Select(s => s.Set).Where(s => s != ParameterFacts.AllSets).Distinct().ToList();
        if (sets.Count > 0 && defaultSet is not null && !sets.Contains(defaultSet))
        {
            sets.Insert(0, defaultSet);
        }

        if (defaultSet is not null && sets.Remove(defaultSet))
        {
            sets.Insert(0, defaultSet); // the default set is the first syntax, as Get-Command -Syntax shows it
        }

        if (sets.Count == 0)
        {
            sets.Add(ParameterFacts.AllSets);
        }

        var outputs = type.GetCustomAttributesData()
            .Where(a => a.AttributeType.FullName == Sma + "OutputTypeAttribute")
            .SelectMany(a => a.ConstructorArguments)
            .SelectMany(Values)
            .Select(v => v is Type t ? t.FullName! : v?.ToString() ?? string.Empty)
            .Distinct()
            .ToList();
        return new CmdletFacts($"{verb}-{noun}", verb, noun, defaultSet, sets, parameters, outputs);
    }

    private static ParameterFacts? ReadParameter(PropertyInfo property)
    {
        var attributes = property.GetCustomAttributesData();
        var parameterAttributes = attributes.Where(a => a.AttributeType.FullName == Sma + "ParameterAttribute").ToList();
        if (parameterAttributes.Count == 0 || parameterAttributes.All(a => Named<bool>(a, "DontShow")))
        {
            return null;
        }

        var sets = parameterAttributes.Select(a =>
        {
            var position = Named<int?>(a, "Position");
            return new ParameterSetFacts(
                Named<string>(a, "ParameterSetName") ?? ParameterFacts.AllSets,
                Named<bool>(a, "Mandatory"),
                position is null or int.MinValue ? null : position,
                Named<bool>(a, "ValueFromPipeline"),
                Named<bool>(a, "ValueFromPipelineByPropertyName"));
        }).ToList();

        var type = Unwrap(property.PropertyType);
        var element = type.IsArray ? type.GetElementType()! : type;
        var aliases = attributes.Where(a => a.AttributeType.FullName == Sma + "AliasAttribute")
            .SelectMany(a => a.ConstructorArguments).SelectMany(Values).Select(v => (string)v!).ToList();
        var accepted = attributes.Where(a => a.AttributeType.FullName == Sma + "ValidateSetAttribute")
            .SelectMany(a => a.ConstructorArguments).SelectMany(Values).Select(v => (string)v!).ToList();
        if (accepted.Count == 0 && element.IsEnum)
        {
            accepted = element.GetFields(BindingFlags.Public | BindingFlags.Static).Select(f => f.Name).ToList();
        }

        return new ParameterFacts(
            property.Name,
            type.FullName!,
            type.Name,
            type.FullName == Sma + "SwitchParameter",
            type.IsArray,
            aliases,
            attributes.Any(a => a.AttributeType.FullName == Sma + "SupportsWildcardsAttribute"),
            accepted,
            sets);
    }

    private static ParameterFacts CommonSwitch(string name, string alias) =>
        new(name, Sma + "SwitchParameter", "SwitchParameter", IsSwitch: true, IsArray: false, [alias], SupportsWildcards: false, [],
            [new ParameterSetFacts(ParameterFacts.AllSets, Mandatory: false, Position: null, ByValue: false, ByPropertyName: false)], IsCommon: true);

    /// <summary>T for T?: help states what a user passes, not how the cmdlet stores "not given".</summary>
    private static Type Unwrap(Type type) =>
        type.IsGenericType && type.GetGenericTypeDefinition().FullName == "System.Nullable`1" ? type.GetGenericArguments()[0] : type;

    private static CustomAttributeData? Attribute(IEnumerable<CustomAttributeData> attributes, string name) =>
        attributes.FirstOrDefault(a => a.AttributeType.FullName == Sma + name);

    private static T? Named<T>(CustomAttributeData attribute, string name)
    {
        foreach (var argument in attribute.NamedArguments)
        {
            if (argument.MemberName == name)
            {
                return (T?)argument.TypedValue.Value;
            }
        }

        return default;
    }

    /// <summary>The values of an attribute argument: the elements of a params array, or the one value.</summary>
    private static IEnumerable<object?> Values(CustomAttributeTypedArgument argument) =>
        argument.Value is ReadOnlyCollection<CustomAttributeTypedArgument> items ? items.Select(i => i.Value) : [argument.Value];
}

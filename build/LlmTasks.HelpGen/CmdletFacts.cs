namespace LlmTasks.HelpGen;

/// <summary>What a compiled cmdlet says about itself: the facts its help states, never written by hand.</summary>
internal sealed record CmdletFacts(
    string Name,
    string Verb,
    string Noun,
    string? DefaultParameterSet,
    IReadOnlyList<string> ParameterSets,
    IReadOnlyList<ParameterFacts> Parameters,
    IReadOnlyList<string> OutputTypes)
{
    /// <summary>The parameters of one parameter set, positional ones first (by position), then mandatory, then the rest.</summary>
    public IEnumerable<(ParameterFacts Parameter, ParameterSetFacts Set)> InSet(string set) =>
        Parameters.Select(p => (Parameter: p, Set: p.In(set)))
            .Where(p => p.Set is not null)
            .Select(p => (p.Parameter, Set: p.Set!))
            .OrderBy(p => p.Set.Position is null ? 1 : 0)
            .ThenBy(p => p.Set.Position ?? 0)
            .ThenBy(p => p.Set.Mandatory ? 0 : 1)
            .ThenBy(p => p.Parameter.IsCommon ? 1 : 0);
}

/// <summary>One parameter: its type, aliases, wildcard support and accepted values, and how it binds in each set.</summary>
internal sealed record ParameterFacts(
    string Name,
    string TypeFullName,
    string TypeName,
    bool IsSwitch,
    bool IsArray,
    IReadOnlyList<string> Aliases,
    bool SupportsWildcards,
    IReadOnlyList<string> AcceptedValues,
    IReadOnlyList<ParameterSetFacts> Sets,
    bool IsCommon = false)
{
    public const string AllSets = "__AllParameterSets";

    /// <summary>How the parameter binds in <paramref name="set"/>; null when it is not in that set.</summary>
    public ParameterSetFacts? In(string set) =>
        Sets.FirstOrDefault(s => s.Set == set) ?? Sets.FirstOrDefault(s => s.Set == AllSets);

    /// <summary>Required only if it is mandatory in every set it belongs to.</summary>
    public bool Required => Sets.All(s => s.Mandatory);

    /// <summary>The position when it is the same in every set, else null (named).</summary>
    public int? Position => Sets.Select(s => s.Position).Distinct().Count() == 1 ? Sets[0].Position : null;

    public bool ByValue => Sets.Any(s => s.ByValue);

    public bool ByPropertyName => Sets.Any(s => s.ByPropertyName);
}

/// <summary>How a parameter binds in one parameter set (<see cref="ParameterFacts.AllSets"/> for all of them).</summary>
internal sealed record ParameterSetFacts(string Set, bool Mandatory, int? Position, bool ByValue, bool ByPropertyName);

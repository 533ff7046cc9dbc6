namespace LlmTasks.HelpGen;

/// <summary>
/// The prose of one cmdlet's help, as read from its markdown file (docs/cmdlets/Verb-Noun.md).
/// Paragraphs are plain text: Get-Help prints them as they are.
/// </summary>
internal sealed class CmdletHelp(string file)
{
    public string File { get; } = file;

    public string? Name { get; set; }

    public List<string> Synopsis { get; } = [];

    public List<string> Description { get; } = [];

    public List<ExampleHelp> Examples { get; } = [];

    public List<ParameterHelp> Parameters { get; } = [];

    public List<TypeHelp> Inputs { get; } = [];

    public List<TypeHelp> Outputs { get; } = [];

    public List<string> Notes { get; } = [];

    public List<LinkHelp> Links { get; } = [];

    /// <summary>The sections (## headings) the file has, with the line of each.</summary>
    public Dictionary<string, int> Sections { get; } = new(StringComparer.Ordinal);
}

internal sealed class ExampleHelp(string title, int line)
{
    public string Title { get; } = title;

    public int Line { get; } = line;

    public string? Code { get; set; }

    public List<string> Remarks { get; } = [];
}

internal sealed class ParameterHelp(string name, int line)
{
    public string Name { get; } = name;

    public int Line { get; } = line;

    public List<string> Description { get; } = [];

    /// <summary>From a paragraph "Default value: …"; what a user gets when the parameter is left out.</summary>
    public string? DefaultValue { get; set; }
}

internal sealed class TypeHelp(string typeName, int line)
{
    public string TypeName { get; } = typeName;

    public int Line { get; } = line;

    public List<string> Description { get; } = [];
}

internal sealed record LinkHelp(string Text, string? Uri, int Line);

namespace LlmTasks.HelpGen;

/// <summary>
/// The rules that keep the help true to the code: every cmdlet has a file, every parameter a
/// description, no description of a parameter that does not exist, at least two examples, the
/// output types the cmdlet declares, related links that resolve.
/// </summary>
internal static class HelpValidator
{
    public const int MinimumExamples = 2;

    public static void Validate(IReadOnlyList<CmdletFacts> cmdlets, IReadOnlyList<CmdletHelp> docs, string docsFolder, List<HelpProblem> problems)
    {
        var byName = docs.Where(d => d.Name is not null).GroupBy(d => d.Name!, StringComparer.OrdinalIgnoreCase).ToDictionary(g => g.Key, g => g.First(), StringComparer.OrdinalIgnoreCase);
        foreach (var cmdlet in cmdlets.Where(c => !byName.ContainsKey(c.Name)))
        {
            problems.Add(new HelpProblem(Path.Combine(docsFolder, cmdlet.Name + ".md"), 0,
                $"{cmdlet.Name} has no help: write {cmdlet.Name}.md in {docsFolder} (copy another cmdlet's file for the layout)."));
        }

        foreach (var doc in docs)
        {
            var fileName = Path.GetFileNameWithoutExtension(doc.File);
            if (doc.Name is null)
            {
                problems.Add(new HelpProblem(doc.File, 1, $"the file has no '# {fileName}' heading."));
                continue;
            }

            if (!string.Equals(doc.Name, fileName, StringComparison.Ordinal))
            {
                problems.Add(new HelpProblem(doc.File, 1, $"the heading '# {doc.Name}' must be the file's name, {fileName}."));
            }

            var cmdlet = cmdlets.FirstOrDefault(c => string.Equals(c.Name, doc.Name, StringComparison.OrdinalIgnoreCase));
            if (cmdlet is null)
            {
                problems.Add(new HelpProblem(doc.File, 1, $"documents {doc.Name}, which the module has no cmdlet for (cmdlets: {string.Join(", ", cmdlets.Select(c => c.Name))})."));
                continue;
            }

            ValidateOne(cmdlet, doc, problems);
        }
    }

    private static void ValidateOne(CmdletFacts cmdlet, CmdletHelp doc, List<HelpProblem> problems)
    {
        void Problem(int line, string message) => problems.Add(new HelpProblem(doc.File, line, message));

        if (doc.Synopsis.Count == 0)
        {
            Problem(Line(doc, "SYNOPSIS"), $"{cmdlet.Name} has no synopsis: a ## SYNOPSIS section with one sentence.");
        }

        if (doc.Description.Count == 0)
        {
            Problem(Line(doc, "DESCRIPTION"), $"{cmdlet.Name} has no description: a ## DESCRIPTION section.");
        }

        if (doc.Examples.Count < MinimumExamples)
        {
            Problem(Line(doc, "EXAMPLES"), $"{cmdlet.Name} has {doc.Examples.Count} example(s); it needs at least {MinimumExamples} (### Example N: title, then a ```powershell block).");
        }

        for (var i = 0; i < doc.Examples.Count; i++)
        {
            var example = doc.Examples[i];
            if (!example.Title.StartsWith($"Example {i + 1}: ", StringComparison.Ordinal) || example.Title.Length <= $"Example {i + 1}: ".Length)
            {
                Problem(example.Line, $"example headings are '### Example {i + 1}: what it shows', in order; this one is '### {example.Title}'.");
            }

            if (string.IsNullOrWhiteSpace(example.Code))
            {
                Problem(example.Line, $"'{example.Title}' has no code: add a ```powershell block under its heading.");
            }
        }

        foreach (var parameter in cmdlet.Parameters)
        {
            var described = doc.Parameters.FirstOrDefault(p => string.Equals(p.Name, parameter.Name, StringComparison.OrdinalIgnoreCase));
            if (described is null)
            {
                if (!parameter.IsCommon)
                {
                    Problem(Line(doc, "PARAMETERS"), $"-{parameter.Name} of {cmdlet.Name} has no description: add '### -{parameter.Name}' under ## PARAMETERS.");
                }
            }
            else if (described.Description.Count == 0)
            {
                Problem(described.Line, $"-{parameter.Name} of {cmdlet.Name} has an empty description.");
            }
        }

        foreach (var described in doc.Parameters)
        {
            if (!cmdlet.Parameters.Any(p => string.Equals(p.Name, described.Name, StringComparison.OrdinalIgnoreCase)))
            {
                Problem(described.Line, $"-{described.Name} is described, but {cmdlet.Name} has no such parameter (it has {string.Join(", ", cmdlet.Parameters.Select(p => "-" + p.Name))}).");
            }

            if (doc.Parameters.Count(p => string.Equals(p.Name, described.Name, StringComparison.OrdinalIgnoreCase)) > 1
                && doc.Parameters.First(p => string.Equals(p.Name, described.Name, StringComparison.OrdinalIgnoreCase)) != described)
            {
                Problem(described.Line, $"-{described.Name} is described twice.");
            }
        }

        foreach (var (section, entries) in new[] { ("INPUTS", doc.Inputs), ("OUTPUTS", doc.Outputs) })
        {
            if (entries.Count == 0)
            {
                Problem(Line(doc, section), $"{cmdlet.Name} needs a ## {section} section with a ### entry per type (### None when there is none).");
            }
        }

        foreach (var output in cmdlet.OutputTypes.Select(t => t == "System.Void" ? "None" : t))
        {
            if (!doc.Outputs.Any(o => string.Equals(o.TypeName, output, StringComparison.Ordinal)))
            {
                Problem(Line(doc, "OUTPUTS"), $"{cmdlet.Name} declares [OutputType] {output}: add '### {output}' under ## OUTPUTS.");
            }
        }

        foreach (var input in cmdlet.Parameters.Where(p => p.ByValue).Select(p => p.IsArray ? p.TypeFullName[..^2] : p.TypeFullName).Distinct())
        {
            if (!doc.Inputs.Any(i => string.Equals(i.TypeName, input, StringComparison.Ordinal)))
            {
                Problem(Line(doc, "INPUTS"), $"{cmdlet.Name} takes {input} from the pipeline: add '### {input}' under ## INPUTS.");
            }
        }

        if (doc.Links.Count == 0)
        {
            Problem(Line(doc, "RELATED LINKS"), $"{cmdlet.Name} needs ## RELATED LINKS (the cmdlets it works with, about_LlmTasks).");
        }

        foreach (var link in doc.Links.Where(l => l.Uri is { Length: > 0 } && !IsAbsolute(l.Uri)))
        {
            var target = Path.GetFullPath(Path.Combine(Path.GetDirectoryName(doc.File)!, link.Uri!.Split('#')[0]));
            if (!File.Exists(target) && !Directory.Exists(target))
            {
                Problem(link.Line, $"the link '{link.Text}' points to {link.Uri}, which does not exist.");
            }
        }
    }

    public static bool IsAbsolute(string uri) => Uri.TryCreate(uri, UriKind.Absolute, out var parsed) && parsed.Scheme is "http" or "https";

    private static int Line(CmdletHelp doc, string section) => doc.Sections.TryGetValue(section, out var line) ? line : 1;
}

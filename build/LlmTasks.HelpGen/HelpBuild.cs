namespace LlmTasks.HelpGen;

/// <summary>One run: read the cmdlets and their markdown, check them against each other, and give the MAML (or the problems).</summary>
internal static class HelpBuild
{
    public static (byte[]? Maml, IReadOnlyList<HelpProblem> Problems) Run(string assemblyPath, IEnumerable<string> references, string docsFolder)
    {
        var problems = new List<HelpProblem>();
        var cmdlets = CmdletReflector.Read(assemblyPath, references);
        if (cmdlets.Count == 0)
        {
            problems.Add(new HelpProblem(assemblyPath, 0, "the assembly has no public cmdlet classes."));
        }

        var docs = Directory.Exists(docsFolder)
            ? Directory.GetFiles(docsFolder, "*.md").Order(StringComparer.Ordinal).Select(f => MarkdownHelpReader.Read(Path.GetFullPath(f), problems)).ToList()
            : [];
        HelpValidator.Validate(cmdlets, docs, Path.GetFullPath(docsFolder), problems);
        if (problems.Count > 0)
        {
            return (null, problems);
        }

        var pairs = cmdlets.Select(c => (c, docs.First(d => string.Equals(d.Name, c.Name, StringComparison.OrdinalIgnoreCase)))).ToList();
        return (MamlWriter.Write(pairs), problems);
    }
}

using LlmTasks.HelpGen;

// LlmTasks.HelpGen --assembly <cmdlets.dll> --docs <folder of Verb-Noun.md> --out <X.dll-Help.xml> [--references <file: one path a line>] [--reference <path>]…
var options = new Dictionary<string, List<string>>(StringComparer.Ordinal);
for (var i = 0; i + 1 < args.Length; i += 2)
{
    if (!args[i].StartsWith("--", StringComparison.Ordinal))
    {
        return Usage($"unexpected argument '{args[i]}'");
    }

    if (!options.TryGetValue(args[i], out var values))
    {
        options[args[i]] = values = [];
    }

    values.Add(args[i + 1]);
}

if (args.Length % 2 != 0 || !options.ContainsKey("--assembly") || !options.ContainsKey("--docs") || !options.ContainsKey("--out"))
{
    return Usage("--assembly, --docs and --out are required");
}

var references = options.GetValueOrDefault("--reference", []).ToList();
foreach (var list in options.GetValueOrDefault("--references", []))
{
    references.AddRange(File.ReadAllLines(list).Select(l => l.Trim()).Where(l => l.Length > 0));
}

var (maml, problems) = HelpBuild.Run(Path.GetFullPath(options["--assembly"][0]), references, options["--docs"][0]);
foreach (var problem in problems)
{
    Console.WriteLine(problem);
}

if (maml is null)
{
    Console.WriteLine($"LlmTasks.HelpGen: the cmdlet help was not built: fix the {problems.Count} problem(s) above in {Path.GetFullPath(options["--docs"][0])}.");
    return 1;
}

var output = Path.GetFullPath(options["--out"][0]);
Directory.CreateDirectory(Path.GetDirectoryName(output)!);
File.WriteAllBytes(output, maml); // always written, so its time stamp tells MSBuild the help is up to date
return 0;

static int Usage(string problem)
{
    Console.Error.WriteLine($"LlmTasks.HelpGen: {problem}.\nUsage: LlmTasks.HelpGen --assembly <cmdlets.dll> --docs <folder> --out <file> [--references <list file>] [--reference <path>]...");
    return 2;
}

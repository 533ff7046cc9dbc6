using System.Management.Automation;
using System.Runtime.InteropServices;
using System.Xml.Linq;
using LlmTasks.HelpGen;

namespace LlmTasks.PowerShell.Tests;

/// <summary>
/// The rules of build/LlmTasks.HelpGen, on the built cmdlets and a copy of docs/cmdlets: the build
/// must fail, naming file and line, when the markdown and the compiled cmdlets disagree.
/// (Get-Help itself is tested in real pwsh by tests/Pester/Help.Tests.ps1.)
/// </summary>
public sealed class HelpGeneratorTests : IDisposable
{
    private readonly DirectoryInfo _root = Directory.CreateTempSubdirectory("llmtasks-helpdocs-");
    private readonly DirectoryInfo _docs;

    public HelpGeneratorTests()
    {
        // The repository's layout in small: docs/cmdlets/*.md, whose related links point at ../../module/….
        _docs = Directory.CreateDirectory(Path.Combine(_root.FullName, "docs", "cmdlets"));
        var module = Directory.CreateDirectory(Path.Combine(_root.FullName, "module", "en-US"));
        File.WriteAllText(Path.Combine(module.FullName, "about_LlmTasks.help.txt"), "about");
        foreach (var file in Directory.GetFiles(Path.Combine(Repo.Root, "docs", "cmdlets"), "*.md"))
        {
            File.Copy(file, Path.Combine(_docs.FullName, Path.GetFileName(file)));
        }
    }

    private static string CmdletAssembly => Path.Combine(Repo.Root, "out", "LlmTasks", "LlmTasks.PowerShell.dll");

    private static IEnumerable<string> References() =>
        Directory.GetFiles(Path.Combine(Repo.Root, "out", "LlmTasks", "deps"), "*.dll")
            .Append(typeof(PSCmdlet).Assembly.Location)
            .Concat(Directory.GetFiles(RuntimeEnvironment.GetRuntimeDirectory(), "*.dll"));

    private (byte[]? Maml, IReadOnlyList<HelpProblem> Problems) Run() => HelpBuild.Run(CmdletAssembly, References(), _docs.FullName);

    private string Doc(string cmdlet) => Path.Combine(_docs.FullName, cmdlet + ".md");

    private void Edit(string cmdlet, Func<string, string> edit)
    {
        var before = File.ReadAllText(Doc(cmdlet));
        var after = edit(before);
        Assert.NotEqual(before, after);
        File.WriteAllText(Doc(cmdlet), after);
    }

    [Fact]
    public void The_repository_docs_give_the_same_MAML_every_time_with_every_cmdlet()
    {
        var (first, problems) = Run();
        Assert.Empty(problems);
        var (second, _) = Run();
        Assert.Equal(first, second);

        var maml = XDocument.Parse(System.Text.Encoding.UTF8.GetString(first!));
        XNamespace command = "http://schemas.microsoft.com/maml/dev/command/2004/10";
        var names = maml.Descendants(command + "details").Select(d => (string)d.Element(command + "name")!).Order().ToList();
        var manifest = File.ReadAllText(Path.Combine(Repo.Root, "module", "LlmTasks.psd1"));
        Assert.All(names, n => Assert.Contains($"'{n}'", manifest));
        Assert.Equal(manifest.Split("CmdletsToExport")[1].Split(')')[0].Count(c => c == '\'') / 2, names.Count);
    }

    [Fact]
    public void A_parameter_without_a_description_fails_naming_the_parameter()
    {
        Edit("Wait-LlmTask", text =>
        {
            var start = text.IndexOf("### -Timeout", StringComparison.Ordinal);
            return text.Remove(start, text.IndexOf("### -StorePath", StringComparison.Ordinal) - start);
        });

        var (maml, problems) = Run();

        Assert.Null(maml);
        var problem = Assert.Single(problems);
        Assert.Equal(Doc("Wait-LlmTask"), problem.File);
        Assert.Contains("-Timeout of Wait-LlmTask has no description", problem.Message);
        Assert.Matches(@"Wait-LlmTask\.md\(\d+\): error LLMHELP: ", problem.ToString());
    }

    [Fact]
    public void A_described_parameter_that_does_not_exist_fails_with_its_line()
    {
        Edit("Get-LlmTask", text => text.Replace("### -Newest", "### -Oldest\n\nThe oldest tasks.\n\n### -Newest", StringComparison.Ordinal));

        var (maml, problems) = Run();

        Assert.Null(maml);
        var problem = Assert.Single(problems);
        Assert.Contains("-Oldest is described, but Get-LlmTask has no such parameter", problem.Message);
        var line = File.ReadAllLines(Doc("Get-LlmTask"))[problem.Line - 1];
        Assert.Equal("### -Oldest", line);
    }

    [Fact]
    public void A_cmdlet_with_fewer_than_two_examples_fails()
    {
        Edit("Stop-LlmTask", text =>
        {
            var start = text.IndexOf("### Example 2", StringComparison.Ordinal);
            return text.Remove(start, text.IndexOf("## PARAMETERS", StringComparison.Ordinal) - start);
        });

        var (maml, problems) = Run();

        Assert.Null(maml);
        Assert.Contains(problems, p => p.Message.Contains("Stop-LlmTask has 1 example(s); it needs at least 2", StringComparison.Ordinal));
    }

    [Fact]
    public void A_missing_file_an_empty_synopsis_a_hand_written_syntax_and_a_misnumbered_example_each_fail()
    {
        File.Delete(Doc("Restart-LlmTask"));
        Edit("Get-LlmTaskAttempt", text => text.Replace("### Example 2:", "### Example 5:", StringComparison.Ordinal));
        Edit("Approve-LlmTask", text => text.Replace("Completes tasks that need review, keeping their last answer.", "", StringComparison.Ordinal)
            .Replace("## DESCRIPTION", "## SYNTAX\n\n```\nApprove-LlmTask [-Id] <long[]>\n```\n\n## DESCRIPTION", StringComparison.Ordinal));

        var (maml, problems) = Run();

        Assert.Null(maml);
        Assert.Contains(problems, p => p.Message.StartsWith("Restart-LlmTask has no help", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Message.Contains("Approve-LlmTask has no synopsis", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Message.Contains("remove the ## SYNTAX section", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.File == Doc("Get-LlmTaskAttempt") && p.Message.Contains("'### Example 2: what it shows', in order", StringComparison.Ordinal));
    }

    public void Dispose()
    {
        _root.Delete(recursive: true);
    }
}

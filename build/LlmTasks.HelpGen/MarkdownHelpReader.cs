using System.Text;
using Markdig;
using Markdig.Syntax;
using Markdig.Syntax.Inlines;

namespace LlmTasks.HelpGen;

/// <summary>
/// Reads a cmdlet's markdown help, laid out as platyPS lays it out (without the generated SYNTAX and
/// parameter facts): # Verb-Noun, then ## SYNOPSIS, DESCRIPTION, EXAMPLES (### one per example: a
/// powershell code block, then remarks), PARAMETERS (### -Name: description, and an optional
/// paragraph "Default value: …"), INPUTS and OUTPUTS (### type name), NOTES, RELATED LINKS (a list of links).
/// </summary>
internal static class MarkdownHelpReader
{
    public const string DefaultValuePrefix = "Default value:";

    public static readonly string[] KnownSections =
        ["SYNOPSIS", "DESCRIPTION", "EXAMPLES", "PARAMETERS", "INPUTS", "OUTPUTS", "NOTES", "RELATED LINKS"];

    private static readonly MarkdownPipeline Pipeline = new MarkdownPipelineBuilder().Build();

    public static CmdletHelp Read(string file, List<HelpProblem> problems)
    {
        var help = new CmdletHelp(file);
        var document = Markdown.Parse(File.ReadAllText(file).Replace("\r\n", "\n", StringComparison.Ordinal), Pipeline);
        string? section = null;
        object? item = null; // the ### entry the blocks belong to: ExampleHelp, ParameterHelp or TypeHelp

        void Problem(Block block, string message) => problems.Add(new HelpProblem(file, block.Line + 1, message));

        foreach (var block in document)
        {
            if (block is HeadingBlock heading)
            {
                var text = InlineText(heading.Inline).Trim();
                switch (heading.Level)
                {
                    case 1 when help.Name is null:
                        help.Name = text;
                        break;
                    case 1:
                        Problem(block, $"a second # heading ('{text}'): a file holds the help of one cmdlet.");
                        break;
                    case 2:
                        section = text.ToUpperInvariant();
                        item = null;
                        if (section == "SYNTAX")
                        {
                            Problem(block, "remove the ## SYNTAX section: the syntax is generated from the compiled cmdlet.");
                        }
                        else if (!KnownSections.Contains(section))
                        {
                            Problem(block, $"unknown section '## {text}'; the sections are {string.Join(", ", KnownSections)}.");
                        }
                        else if (!help.Sections.TryAdd(section, block.Line + 1))
                        {
                            Problem(block, $"the section ## {section} appears twice.");
                        }

                        break;
                    case 3:
                        item = section switch
                        {
                            "EXAMPLES" => Add(help.Examples, new ExampleHelp(text, block.Line + 1)),
                            "PARAMETERS" when text.StartsWith('-') && text.Length > 1 => Add(help.Parameters, new ParameterHelp(text[1..], block.Line + 1)),
                            "PARAMETERS" => null,
                            "INPUTS" => Add(help.Inputs, new TypeHelp(text, block.Line + 1)),
                            "OUTPUTS" => Add(help.Outputs, new TypeHelp(text, block.Line + 1)),
                            _ => null,
                        };
                        if (item is null)
                        {
                            Problem(block, section == "PARAMETERS"
                                ? $"a parameter heading is '### -Name', not '### {text}'."
                                : $"'### {text}' has no place under ## {section ?? "(no section)"}: only EXAMPLES, PARAMETERS, INPUTS and OUTPUTS have ### entries.");
                        }

                        break;
                    default:
                        Problem(block, $"heading level {heading.Level} is not used in cmdlet help.");
                        break;
                }

                continue;
            }

            if (block is HtmlBlock or ThematicBreakBlock or LinkReferenceDefinitionGroup)
            {
                continue; // comments for the authors, rules, link definitions: not help text
            }

            if (section is null)
            {
                Problem(block, "text before the first ## section: start with ## SYNOPSIS.");
                continue;
            }

            switch (section, item)
            {
                case ("EXAMPLES", ExampleHelp example):
                    if (example.Code is null && block is FencedCodeBlock code)
                    {
                        if (!IsPowerShell(code.Info))
                        {
                            Problem(block, $"the code of '{example.Title}' is a ```{code.Info} block; make it ```powershell.");
                        }

                        example.Code = CodeText(code);
                    }
                    else if (example.Code is null)
                    {
                        Problem(block, $"'{example.Title}' must start with its code (a ```powershell block), then the remarks.");
                    }
                    else
                    {
                        example.Remarks.AddRange(Paragraphs(block, Problem));
                    }

                    break;
                case ("PARAMETERS", ParameterHelp parameter):
                    foreach (var paragraph in Paragraphs(block, Problem))
                    {
                        if (block is ParagraphBlock && paragraph.StartsWith(DefaultValuePrefix, StringComparison.Ordinal))
                        {
                            if (parameter.DefaultValue is not null)
                            {
                                Problem(block, $"-{parameter.Name} has two '{DefaultValuePrefix}' paragraphs.");
                            }

                            parameter.DefaultValue = paragraph[DefaultValuePrefix.Length..].Trim();
                        }
                        else
                        {
                            parameter.Description.Add(paragraph);
                        }
                    }

                    break;
                case ("INPUTS" or "OUTPUTS", TypeHelp type):
                    type.Description.AddRange(Paragraphs(block, Problem));
                    break;
                case ("RELATED LINKS", _):
                    ReadLinks(block, help.Links, Problem);
                    break;
                case ("SYNOPSIS", _):
                    help.Synopsis.AddRange(Paragraphs(block, Problem));
                    break;
                case ("DESCRIPTION", _):
                    help.Description.AddRange(Paragraphs(block, Problem));
                    break;
                case ("NOTES", _):
                    help.Notes.AddRange(Paragraphs(block, Problem));
                    break;
                case ("EXAMPLES" or "PARAMETERS" or "INPUTS" or "OUTPUTS", null):
                    Problem(block, $"text under ## {section} belongs under a ### entry.");
                    break;
            }
        }

        return help;
    }

    private static T Add<T>(List<T> list, T item)
    {
        list.Add(item);
        return item;
    }

    private static bool IsPowerShell(string? info) =>
        info is not null && (info.Equals("powershell", StringComparison.OrdinalIgnoreCase) || info.Equals("pwsh", StringComparison.OrdinalIgnoreCase));

    /// <summary>A block as Get-Help paragraphs: a paragraph, each list item ("- …"), a code block kept as it is.</summary>
    private static IEnumerable<string> Paragraphs(Block block, Action<Block, string> problem)
    {
        switch (block)
        {
            case ParagraphBlock paragraph:
                yield return InlineText(paragraph.Inline).Trim();
                break;
            case CodeBlock code:
                yield return CodeText(code);
                break;
            case ListBlock list:
                var number = int.TryParse(list.OrderedStart, out var start) ? start : 1;
                foreach (var listItem in list.OfType<ListItemBlock>())
                {
                    var bullet = list.IsOrdered ? $"{number++}. " : "- ";
                    var first = true;
                    foreach (var child in listItem)
                    {
                        foreach (var text in Paragraphs(child, problem))
                        {
                            yield return (first ? bullet : new string(' ', bullet.Length)) + text.Replace("\n", "\n" + new string(' ', bullet.Length), StringComparison.Ordinal);
                            first = false;
                        }
                    }
                }

                break;
            case QuoteBlock quote:
                foreach (var child in quote)
                {
                    foreach (var text in Paragraphs(child, problem))
                    {
                        yield return text;
                    }
                }

                break;
            case HtmlBlock or ThematicBreakBlock or LinkReferenceDefinitionGroup:
                break;
            default:
                problem(block, $"a {block.GetType().Name} does not show in Get-Help: use paragraphs, lists and code blocks.");
                break;
        }
    }

    private static void ReadLinks(Block block, List<LinkHelp> links, Action<Block, string> problem)
    {
        if (block is not ListBlock list)
        {
            problem(block, "## RELATED LINKS is a list: - [Get-LlmTask](Get-LlmTask.md)");
            return;
        }

        foreach (var listItem in list.OfType<ListItemBlock>())
        {
            var paragraph = listItem.OfType<ParagraphBlock>().FirstOrDefault();
            var link = paragraph?.Inline?.Descendants<LinkInline>().FirstOrDefault();
            var text = link is not null ? InlineText(link).Trim() : paragraph is null ? string.Empty : InlineText(paragraph.Inline).Trim();
            if (text.Length == 0)
            {
                problem(listItem, "an empty related link.");
                continue;
            }

            links.Add(new LinkHelp(text, link?.Url, listItem.Line + 1));
        }
    }

    private static string CodeText(LeafBlock code)
    {
        var lines = code.Lines.Lines.Take(code.Lines.Count).Select(l => l.Slice.ToString());
        return string.Join("\n", lines).TrimEnd();
    }

    /// <summary>Inline markdown as the plain text Get-Help shows: code spans and emphasis lose their marks, links keep their text.</summary>
    private static string InlineText(Inline? inline)
    {
        var text = new StringBuilder();
        Append(inline, text);
        return text.ToString();
    }

    private static void Append(Inline? inline, StringBuilder text)
    {
        switch (inline)
        {
            case null:
                return;
            case LiteralInline literal:
                text.Append(literal.Content.ToString());
                break;
            case CodeInline code:
                text.Append(code.Content);
                break;
            case LineBreakInline lineBreak:
                text.Append(lineBreak.IsHard ? "\n" : " ");
                break;
            case HtmlEntityInline entity:
                text.Append(entity.Transcoded.ToString());
                break;
            case AutolinkInline autolink:
                text.Append(autolink.Url);
                break;
            case HtmlInline:
                break;
            case ContainerInline container:
                foreach (var child in container)
                {
                    Append(child, text);
                }

                break;
        }
    }
}

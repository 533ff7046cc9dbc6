using System.Management.Automation;
using System.Management.Automation.Language;
using System.Reflection;

namespace LlmTasks.PowerShell.Internal;

/// <summary>
/// The rule for script-block checks, applied when the spec is built (before anything is stored or
/// called): a block runs later, in the module's own runspace (<see cref="ScriptCheckRunner"/>), maybe
/// in another process, so it may only read what exists there. Refused, with the variable or command
/// named: a variable that is not one of its parameters, an automatic or built-in variable, a variable
/// the block assigns itself, or <c>$env:</c>; any <c>$using:</c> of a caller's variable; a command
/// that does not exist in the module's runspace (a function or alias of the caller's session); a
/// script called by a relative path (it would resolve against the process's folder, not $PWD).
/// The analysis reads the block's syntax tree (System.Management.Automation.Language); it cannot see
/// names built at run time (<c>Get-Variable $name</c>, <c>&amp; $command</c>).
/// </summary>
internal static class ScriptCheckRules
{
    /// <summary>
    /// Variables PowerShell itself sets (automatic, per scope and per pipeline: $_, $args, $Matches …),
    /// from its own list (the engine's SpecialVariables names), with a fallback should that list move.
    /// </summary>
    private static readonly HashSet<string> Special = SpecialVariableNames();

    private static readonly string[] VariableParameters =
        ["OutVariable", "ov", "ErrorVariable", "ev", "WarningVariable", "wv", "InformationVariable", "iv", "PipelineVariable", "pv"];

    private static readonly string[] VariableCmdlets = ["Set-Variable", "New-Variable", "sv", "nv"];

    /// <summary>Throws an <see cref="LlmTasksException"/> naming what the block reads or calls that will not be there when it runs.</summary>
    public static void Validate(ScriptBlock block, int index, ScriptCheckRunner? runner)
    {
        var ast = block.Ast;
        var own = OwnVariables(ast);
        var label = $"Verify item {index + 1} (ScriptBlock)";

        foreach (var used in ast.FindAll(a => a is UsingExpressionAst, searchNestedScriptBlocks: true).Cast<UsingExpressionAst>())
        {
            var variable = UsingExpressionAst.ExtractUsingVariable(used);
            var name = (variable is null ? null : BareName(variable.VariablePath));
            if (name is null || !own.Contains(name))
            {
                throw Refused(ErrorRecords.ScriptCheckUsing, block,
                    $"{label} uses {used.Extent.Text}: $using: is not available in a script-block check, which runs later in the module's own runspace " +
                    "(perhaps in another process), where it has nothing to read. " + TakeTheValue(name ?? "value"));
            }
        }

        string[]? globals = null;
        var unknown = new List<string>();
        foreach (var variable in ast.FindAll(a => a is VariableExpressionAst && !InsideUsing(a), searchNestedScriptBlocks: true).Cast<VariableExpressionAst>())
        {
            var path = variable.VariablePath;
            var name = BareName(path);
            if (path.IsDriveQualified)
            {
                if (string.Equals(path.DriveName, "env", StringComparison.OrdinalIgnoreCase))
                {
                    continue;
                }

                if (!string.Equals(path.DriveName, "variable", StringComparison.OrdinalIgnoreCase))
                {
                    throw Refused(ErrorRecords.ScriptCheckVariable, block,
                        $"{label} reads {variable.Extent.Text}: in a script-block check only variables and $env: can be read this way " +
                        "(it runs in the module's own runspace, whose current location is not yours). Read files with a full path, for example Get-Content -LiteralPath '/full/path'.");
                }

            }

            if (own.Contains(name) || Special.Contains(name))
            {
                continue;
            }

            globals ??= runner?.GlobalVariables().ToArray() ?? [];
            if (!globals.Contains(name, StringComparer.OrdinalIgnoreCase) && !unknown.Contains(name, StringComparer.OrdinalIgnoreCase))
            {
                unknown.Add(name);
            }
        }

        if (unknown.Count > 0)
        {
            throw Refused(ErrorRecords.ScriptCheckVariable, block, VariableMessage(label, unknown, ast));
        }

        CheckCommands(block, ast, label, runner);
    }

    private static string VariableMessage(string label, List<string> unknown, Ast ast)
    {
        var names = string.Join(", ", unknown.Select(n => "$" + n));
        var declared = ast is ScriptBlockAst { ParamBlock: not null };
        if (!declared && unknown.All(n => n.Equals("Output", StringComparison.OrdinalIgnoreCase) || n.Equals("Task", StringComparison.OrdinalIgnoreCase)))
        {
            return $"{label} reads {names} but declares no parameters: the output and the task reach a script-block check only as its arguments. " +
                   "Begin the block with param($Output, $Task), for example { param($Output) $Output -match 'ok' }.";
        }

        var first = unknown[0];
        return $"{label} reads {names}, which {(unknown.Count == 1 ? "does" : "do")} not exist where the check runs: script-block checks run in the module's own runspace " +
               $"(later, perhaps in another process), where the variables of your session are not defined, so ${first} would be $null there. " +
               TakeTheValue(first) +
               " A block may read its parameters (param($Output, $Task)), automatic variables ($_, $Matches, $true …), variables it assigns itself, and $env:.";
    }

    private static string TakeTheValue(string name) =>
        $"Give the value to the spec instead: a data check takes it when the spec is built (@{{ Type = 'Regex'; Pattern = ${name} }}, @{{ Type = 'Contains'; Text = ${name} }}), " +
        $"or write it into the block's text ([scriptblock]::Create(\"param(`$Output) `$Output -match '${name}'\")), or put it in $env:SOME_NAME and read $env:SOME_NAME in the block.";

    private static void CheckCommands(ScriptBlock block, Ast ast, string label, ScriptCheckRunner? runner)
    {
        var defined = ast.FindAll(a => a is FunctionDefinitionAst, searchNestedScriptBlocks: true).Cast<FunctionDefinitionAst>()
            .Select(f => f.Name).ToHashSet(StringComparer.OrdinalIgnoreCase);
        var names = new List<string>();
        foreach (var command in ast.FindAll(a => a is CommandAst, searchNestedScriptBlocks: true).Cast<CommandAst>())
        {
            var name = command.GetCommandName();
            if (string.IsNullOrEmpty(name) || defined.Contains(name))
            {
                continue; // & $command: decided at run time
            }

            if (name.IndexOfAny(['/', '\\']) >= 0)
            {
                if (!Path.IsPathRooted(name))
                {
                    throw Refused(ErrorRecords.ScriptCheckCommand, block,
                        $"{label} runs {name} by a relative path: a script-block check runs in the module's own runspace, whose current location is the process's folder, not yours. Use the full path.");
                }

                continue;
            }

            if (!names.Contains(name, StringComparer.OrdinalIgnoreCase))
            {
                names.Add(name);
            }
        }

        if (runner is null || names.Count == 0)
        {
            return;
        }

        var missing = runner.MissingCommands(names);
        if (missing.Count > 0)
        {
            throw Refused(ErrorRecords.ScriptCheckCommand, block,
                $"{label} calls {string.Join(", ", missing)}, which {(missing.Count == 1 ? "does" : "do")} not exist where it runs: a script-block check runs in the module's own runspace " +
                "(with the modules on $env:PSModulePath), where the functions and aliases of your session and modules imported by path are not defined. " +
                $"Define the function inside the block ({{ param($Output) function {missing[0]} {{ … }}; {missing[0]} $Output }}), or put its module in a folder on $env:PSModulePath.");
        }
    }

    /// <summary>Names the block defines itself: parameters, assignments, foreach and data variables, -OutVariable and the like, Set-/New-Variable.</summary>
    private static HashSet<string> OwnVariables(Ast ast)
    {
        var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var node in ast.FindAll(_ => true, searchNestedScriptBlocks: true))
        {
            switch (node)
            {
                case ParameterAst parameter:
                    names.Add(BareName(parameter.Name.VariablePath));
                    break;
                case AssignmentStatementAst assignment:
                    AddTargets(assignment.Left, names);
                    break;
                case ForEachStatementAst loop:
                    names.Add(BareName(loop.Variable.VariablePath));
                    break;
                case DataStatementAst { Variable: { } data }:
                    names.Add(data);
                    break;
                case CommandAst command:
                    AddCommandTargets(command, names);
                    break;
            }
        }

        return names;
    }

    private static void AddTargets(ExpressionAst target, HashSet<string> names)
    {
        switch (target)
        {
            case VariableExpressionAst variable:
                names.Add(BareName(variable.VariablePath));
                break;
            case AttributedExpressionAst attributed: // [int]$x = …
                AddTargets(attributed.Child, names);
                break;
            case ArrayLiteralAst list: // $a, $b = …
                foreach (var element in list.Elements)
                {
                    AddTargets(element, names);
                }

                break;
            case ParenExpressionAst { Pipeline: PipelineAst { PipelineElements: [CommandExpressionAst { Expression: { } inner }] } }:
                AddTargets(inner, names);
                break;
        }
    }

    private static void AddCommandTargets(CommandAst command, HashSet<string> names)
    {
        var elements = command.CommandElements;
        var isVariableCmdlet = command.GetCommandName() is { } commandName && VariableCmdlets.Contains(commandName, StringComparer.OrdinalIgnoreCase);
        var positionalSeen = false;
        for (var i = 1; i < elements.Count; i++)
        {
            if (elements[i] is CommandParameterAst parameter)
            {
                var wantsName = VariableParameters.Contains(parameter.ParameterName, StringComparer.OrdinalIgnoreCase)
                                || (isVariableCmdlet && parameter.ParameterName.Equals("Name", StringComparison.OrdinalIgnoreCase));
                var argument = parameter.Argument ?? (wantsName && i + 1 < elements.Count ? elements[i + 1] as ExpressionAst : null);
                if (wantsName && argument is StringConstantExpressionAst value)
                {
                    names.Add(value.Value.TrimStart('+'));
                }

                if (parameter.Argument is null && wantsName)
                {
                    i++;
                }

                continue;
            }

            if (isVariableCmdlet && !positionalSeen && elements[i] is StringConstantExpressionAst positional)
            {
                names.Add(positional.Value); // Set-Variable x 1
            }

            positionalSeen = true;
        }
    }

    /// <summary>A variable's name without its scope or drive ($global:x, $script:x, $variable:x, $env:x: x).</summary>
    private static string BareName(VariablePath path)
    {
        var text = path.UserPath;
        var colon = text.IndexOf(':');
        return colon >= 0 && (path.IsDriveQualified || !path.IsUnqualified) ? text[(colon + 1)..] : text;
    }

    private static bool InsideUsing(Ast ast)
    {
        for (var node = ast.Parent; node is not null; node = node.Parent)
        {
            if (node is UsingExpressionAst)
            {
                return true;
            }
        }

        return false;
    }

    private static LlmTasksException Refused(string errorId, ScriptBlock block, string message) =>
        new(errorId, LlmErrorCategory.InvalidArgument, message) { Target = block };

    private static HashSet<string> SpecialVariableNames()
    {
        var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase)
        {
            // Set per scope or per pipeline, so never among a runspace's global variables (about_Automatic_Variables).
            "_", "PSItem", "args", "input", "this", "Matches", "LASTEXITCODE", "MyInvocation", "PSBoundParameters", "PSCmdlet",
            "PSCommandPath", "PSScriptRoot", "foreach", "switch", "Event", "EventArgs", "EventSubscriber", "Sender", "StackTrace",
            "PSDebugContext", "PSSenderInfo", "?", "^", "$", "null", "true", "false", "OFS", "PSModuleAutoLoadingPreference",
            "PSEmailServer", "PSSessionApplicationName", "PSSessionConfigurationName", "PSSessionOption",
        };
        try
        {
            var special = typeof(PSObject).Assembly.GetType("System.Management.Automation.SpecialVariables");
            foreach (var field in special?.GetFields(BindingFlags.Static | BindingFlags.NonPublic | BindingFlags.Public) ?? [])
            {
                if (field is { IsLiteral: true } && field.FieldType == typeof(string) && field.GetRawConstantValue() is string name && name.Length > 0)
                {
                    names.Add(name);
                }
            }
        }
        catch (Exception e) when (e is TypeLoadException or FieldAccessException or InvalidOperationException or NotSupportedException)
        {
            // The fallback list above covers the automatic variables.
        }

        return names;
    }
}

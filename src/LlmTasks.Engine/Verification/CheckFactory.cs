using LlmTasks.Providers;
using LlmTasks.Verification.Checks;

namespace LlmTasks.Verification;

/// <summary>
/// Turns spec items into validators, checking every parameter first: an unknown Type, a missing
/// parameter, an invalid schema or regex is an InvalidArgument error naming the item (its position
/// and Type) before any model call.
/// </summary>
public static class CheckFactory
{
    public static readonly IReadOnlyList<string> Types =
        ["NotEmpty", "Json", "JsonSchema", "FieldPresent", "Regex", "Contains", "NotContains", "Length", "Code", "Python", "Sql", "SqlSafe", "OpenApi", "Judge", "Contradiction", "Script"];

    /// <summary>Checks a spec without keeping the validators (Start-LlmTask, before anything is stored).</summary>
    public static void Validate(IReadOnlyList<CheckSpec> specs, ProviderRegistry providers) => _ = Build(specs, providers);

    /// <summary>The most model calls a task's verification loop may make (Start-LlmTask -MaxAttempts has the same range).</summary>
    public const int MaxAttemptsLimit = 100;

    /// <summary>Checks the options of a whole plan (limits, then every check).</summary>
    public static void Validate(VerificationPlan plan, ProviderRegistry providers)
    {
        if (plan.MaxAttempts is < 1 or > MaxAttemptsLimit)
        {
            throw Invalid($"-MaxAttempts must be from 1 to {MaxAttemptsLimit}; got {plan.MaxAttempts}.", plan.MaxAttempts);
        }

        if (plan.ReviewAfterAttempts is < 1 or > MaxAttemptsLimit)
        {
            throw Invalid($"-ReviewAfterAttempts must be from 1 to {MaxAttemptsLimit}; got {plan.ReviewAfterAttempts}.", plan.ReviewAfterAttempts);
        }

        if (plan.ToolAfterAttempts is < 1 or > MaxAttemptsLimit)
        {
            throw Invalid($"-ToolAfterAttempts must be from 1 to {MaxAttemptsLimit}; got {plan.ToolAfterAttempts}.", plan.ToolAfterAttempts);
        }

        Validate(plan.Checks, providers);
    }

    /// <param name="isNew">A spec given now (not read from the store): a judge's model without a prefix takes $env:LLMTASKS_DEFAULT_PROVIDER.</param>
    internal static IReadOnlyList<IOutputCheck> Build(IReadOnlyList<CheckSpec> specs, ProviderRegistry providers, bool isNew = true)
    {
        if (specs.Count == 0)
        {
            throw Invalid("-Verify is empty: give at least one check, such as @{ Type = 'NotEmpty' }.", specs);
        }

        return specs.Select((spec, i) => Create(spec, i, providers, isNew)).ToArray();
    }

    /// <summary>The plan with its judges' models whole (provider/model), as a task stores it: resolved once, when the task is created.</summary>
    internal static VerificationPlan WithWholeModels(VerificationPlan plan, ProviderRegistry providers) =>
        plan.Checks.Any(NeedsPrefix)
            ? plan with { Checks = plan.Checks.Select(c => NeedsPrefix(c) ? c with { Model = providers.ParseKnown(c.Model, isNew: true).ToString() } : c).ToArray() }
            : plan;

    private static bool NeedsPrefix(CheckSpec spec) =>
        spec.Model is { } model && !model.Contains('/', StringComparison.Ordinal) && spec.Type?.Trim() is { } type
        && (type.Equals("Judge", StringComparison.OrdinalIgnoreCase) || type.Equals("Contradiction", StringComparison.OrdinalIgnoreCase));

    private static IOutputCheck Create(CheckSpec spec, int index, ProviderRegistry providers, bool isNew)
    {
        Exception Bad(string problem) => Invalid($"Verify item {index + 1} ({spec.Type}): {problem}", spec);

        var type = Types.FirstOrDefault(t => string.Equals(t, spec.Type?.Trim(), StringComparison.OrdinalIgnoreCase))
                   ?? throw Bad($"unknown Type. Use one of {string.Join(", ", Types.Where(t => t != "Script"))}, or a script block.");
        return type switch
        {
            "NotEmpty" => new NotEmptyCheck(spec),
            "Json" => new JsonCheck(spec),
            "JsonSchema" => new JsonSchemaCheck(spec, Bad),
            "FieldPresent" => new FieldPresentCheck(spec, Bad),
            "Regex" => new RegexCheck(spec, Bad),
            "Contains" => new ContainsCheck(spec, negate: false, Bad),
            "NotContains" => new ContainsCheck(spec, negate: true, Bad),
            "Length" => new LengthCheck(spec, Bad),
            "Code" => new CodeCheck(spec, Bad),
            "Python" => new PythonCheck(spec),
            "Sql" => new SqlCheck(spec, Bad),
            "SqlSafe" => new SqlSafeCheck(spec, Bad),
            "OpenApi" => new OpenApiCheck(spec, Bad),
            "Judge" => new JudgeCheck(spec, providers, Bad, isNew),
            "Contradiction" => new ContradictionCheck(spec, providers, Bad, isNew),
            _ => new ScriptCheck(spec, Bad),
        };
    }

    private static LlmTasksException Invalid(string message, object? target) =>
        new(ErrorIds.InvalidVerification, LlmErrorCategory.InvalidArgument, message) { Target = target };
}

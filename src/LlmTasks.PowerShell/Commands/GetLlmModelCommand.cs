using System.Management.Automation;
using LlmTasks.PowerShell.Internal;
using LlmTasks.Providers.Pricing;

namespace LlmTasks.PowerShell.Commands;

/// <summary>
/// Lists the models LlmTasks can call that the price map knows (LiteLLM's, shipped with the module, or
/// $env:LLMTASKS_MODEL_PRICES's file): provider, context window, prices per million tokens, capabilities.
/// Reads no store.
/// </summary>
[Cmdlet(VerbsCommon.Get, "LlmModel")]
[OutputType(typeof(LlmModelInfo))]
public sealed class GetLlmModelCommand : PSCmdlet
{
    /// <summary>Model names (provider/model, or the model without its prefix); wildcards. Piped tasks bind by their Model.</summary>
    [Parameter(Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(Completers.ModelCompleter))]
    public string[]? Model { get; set; }

    /// <summary>Provider prefixes (openai, anthropic, azure, openrouter, ollama); wildcards.</summary>
    [Parameter]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    public string[]? Provider { get; set; }

    /// <summary>Only models that have every one of these capabilities.</summary>
    [Parameter]
    [ValidateSet("FunctionCalling", "Vision", "ResponseSchema", "Reasoning", "PromptCaching")]
    public string[]? Capability { get; set; }

    private readonly List<string> _names = [];
    private bool _anyName;

    protected override void ProcessRecord()
    {
        if (Model is { } names)
        {
            _anyName = true;
            _names.AddRange(names);
        }
    }

    protected override void EndProcessing()
    {
        ModelCatalog catalog;
        IReadOnlyList<LlmModelInfo> models;
        IReadOnlyList<string> missing;
        try
        {
            catalog = ModelCatalog.Current;
            (models, missing) = catalog.Select(_anyName ? _names : null, Provider, Capability);
        }
        catch (LlmTasksException e)
        {
            ThrowTerminatingError(ErrorRecords.From(e));
            return;
        }

        WriteObject(models, enumerateCollection: true);
        foreach (var name in missing)
        {
            WriteError(ErrorRecords.From(new LlmTasksException(ErrorIds.ModelNotFound, LlmErrorCategory.ObjectNotFound,
                $"The price map ({catalog.Source}) has no model '{name}'{(Provider is null && Capability is null ? string.Empty : " with the given -Provider and -Capability")}. " +
                $"Get-LlmModel '*{name.Split('/')[^1]}*' lists similar names; a model it does not know can still be used, without a cost or a context-window check.")
            { Target = name }));
        }
    }
}

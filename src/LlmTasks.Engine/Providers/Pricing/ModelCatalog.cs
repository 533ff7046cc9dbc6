using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using LlmTasks.Configuration;

namespace LlmTasks.Providers.Pricing;

/// <summary>
/// The models LlmTasks can call, with their prices and facts, from LiteLLM's MIT-licensed price map: the dated
/// snapshot built into the engine (module/data/model-prices.json, with LICENSE.litellm.txt), or the file
/// $env:LLMTASKS_MODEL_PRICES names (the same extract, or LiteLLM's own model_prices_and_context_window.json).
/// Only chat models of providers LlmTasks has are kept, named as -Model takes them.
/// </summary>
public sealed partial class ModelCatalog
{
    public const string PricesVariable = "LLMTASKS_MODEL_PRICES";

    private const string ResourceName = "LlmTasks.model-prices.json";

    /// <summary>LiteLLM's provider names → the LlmTasks prefix that calls them.</summary>
    private static readonly Dictionary<string, string> Providers = new(StringComparer.OrdinalIgnoreCase)
    {
        ["openai"] = "openai",
        ["anthropic"] = "anthropic",
        ["azure"] = "azure",
        ["openrouter"] = "openrouter",
        ["ollama"] = "ollama",
    };

    private static readonly Lazy<ModelCatalog> Shipped = new(() =>
    {
        using var stream = typeof(ModelCatalog).Assembly.GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException($"The engine has no {ResourceName} resource.");
        return Parse(stream, null);
    });

    private static (string Path, DateTime Written, ModelCatalog Catalog)? _fromFile;

    private readonly Dictionary<string, LlmModelInfo> _byModel;

    private ModelCatalog(IReadOnlyList<LlmModelInfo> models, string source, string? path)
    {
        Models = models;
        Source = source;
        Path = path;
        _byModel = new Dictionary<string, LlmModelInfo>(StringComparer.OrdinalIgnoreCase);
        foreach (var model in models)
        {
            _byModel.TryAdd(model.Model, model);
        }
    }

    /// <summary>Every model, by provider then name.</summary>
    public IReadOnlyList<LlmModelInfo> Models { get; }

    /// <summary>"LiteLLM price map, commit 00035b6, retrieved 2026-12-01", or the file's path.</summary>
    public string Source { get; }

    /// <summary>The file read; null: the snapshot built into the engine.</summary>
    public string? Path { get; }

    /// <summary>The snapshot shipped with the module.</summary>
    public static ModelCatalog BuiltIn => Shipped.Value;

    /// <summary>
    /// The catalog in force: $env:LLMTASKS_MODEL_PRICES's file when set (read again when it changes), else the snapshot.
    /// A file that cannot be read or is not a price map is an <see cref="ErrorIds.InvalidModelPrices"/> error naming it.
    /// </summary>
    public static ModelCatalog Current => Load(EngineEnvironment.Process);

    internal static ModelCatalog Load(EngineEnvironment environment)
    {
        if (environment.Text(PricesVariable) is not { } path)
        {
            return BuiltIn;
        }

        if (path == "~" || path.StartsWith("~/", StringComparison.Ordinal) || path.StartsWith("~\\", StringComparison.Ordinal))
        {
            path = System.IO.Path.Join(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), path[1..].TrimStart('/', '\\'));
        }

        var full = System.IO.Path.GetFullPath(path);
        DateTime written;
        try
        {
            written = File.GetLastWriteTimeUtc(full);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            throw Invalid(full, e.Message);
        }

        if (_fromFile is { } cached && cached.Path == full && cached.Written == written)
        {
            return cached.Catalog;
        }

        if (!File.Exists(full))
        {
            throw Invalid(full, "there is no such file");
        }

        try
        {
            using var stream = File.OpenRead(full);
            var catalog = Parse(stream, full);
            _fromFile = (full, written, catalog);
            return catalog;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException or FormatException)
        {
            throw Invalid(full, e.Message);
        }
    }

    /// <summary>The current catalog, or the snapshot when $env:LLMTASKS_MODEL_PRICES's file cannot be used (a call's cost never fails the call).</summary>
    public static ModelCatalog CurrentOrBuiltIn()
    {
        try
        {
            return Current;
        }
        catch (LlmTasksException)
        {
            return BuiltIn;
        }
    }

    /// <summary>A model's facts: the exact name, else the name without a dated snapshot suffix (gpt-4o-mini-2024-07-18 → gpt-4o-mini).</summary>
    public LlmModelInfo? Find(ModelId model)
    {
        var name = model.ToString();
        if (_byModel.TryGetValue(name, out var info))
        {
            return info;
        }

        var undated = DatedSnapshot().Replace(name, string.Empty);
        return undated != name && _byModel.TryGetValue(undated, out info) ? info : null;
    }

    /// <summary>
    /// The models whose name (provider/model, or the part after the prefix) matches one of <paramref name="names"/>, whose provider
    /// matches one of <paramref name="providers"/> (PowerShell wildcards, any case) and that have every one of <paramref name="capabilities"/>;
    /// <c>Missing</c> lists the names without wildcards that matched nothing.
    /// </summary>
    public (IReadOnlyList<LlmModelInfo> Models, IReadOnlyList<string> Missing) Select(IReadOnlyList<string>? names, IReadOnlyList<string>? providers, IReadOnlyList<string>? capabilities)
    {
        var namePatterns = names?.Select(n => (Text: n, Regex: Storage.Wildcard.ToRegex(n))).ToList();
        var providerPatterns = providers?.Select(Storage.Wildcard.ToRegex).ToList();
        var matchedNames = new HashSet<string>(StringComparer.Ordinal);
        var selected = new List<LlmModelInfo>();
        foreach (var model in Models)
        {
            if (providerPatterns is not null && !providerPatterns.Any(p => p.IsMatch(model.Provider)))
            {
                continue;
            }

            if (capabilities is not null && !capabilities.All(c => model.Capabilities.Contains(c, StringComparer.OrdinalIgnoreCase)))
            {
                continue;
            }

            if (namePatterns is not null)
            {
                var bare = model.Model[(model.Provider.Length + 1)..];
                var hits = namePatterns.Where(p => p.Regex.IsMatch(model.Model) || p.Regex.IsMatch(bare)).ToList();
                if (hits.Count == 0)
                {
                    continue;
                }

                matchedNames.UnionWith(hits.Select(h => h.Text));
            }

            selected.Add(model);
        }

        var missing = namePatterns?.Where(p => !matchedNames.Contains(p.Text) && Storage.Wildcard.Parse(p.Text).Literal is not null).Select(p => p.Text).ToList() ?? [];
        return (selected, missing);
    }

    /// <summary>Reads the extract ({"source": …, "models": {…}}) or LiteLLM's own map (the models at the root, with its "sample_spec").</summary>
    internal static ModelCatalog Parse(Stream json, string? path)
    {
        using var document = JsonDocument.Parse(json, new JsonDocumentOptions { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip });
        var root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new FormatException("it is not a JSON object of models");
        }

        var models = root.TryGetProperty("models", out var inner) && inner.ValueKind == JsonValueKind.Object ? inner : root;
        var source = path ?? Describe(root);
        var list = new List<LlmModelInfo>();
        foreach (var entry in models.EnumerateObject())
        {
            if (entry.Value.ValueKind == JsonValueKind.Object && entry.Name != "sample_spec" && Read(entry.Name, entry.Value, source) is { } info)
            {
                list.Add(info);
            }
        }

        if (list.Count == 0)
        {
            throw new FormatException("it names no chat model of a provider LlmTasks has (openai, anthropic, azure, openrouter, ollama)");
        }

        list.Sort((a, b) => string.CompareOrdinal(a.Provider, b.Provider) is var byProvider and not 0
            ? byProvider
            : StringComparer.OrdinalIgnoreCase.Compare(a.Model, b.Model));
        return new ModelCatalog(list, source, path);
    }

    private static string Describe(JsonElement root)
    {
        if (!root.TryGetProperty("source", out var s) || s.ValueKind != JsonValueKind.Object)
        {
            return "LiteLLM price map";
        }

        var commit = s.TryGetProperty("commit", out var c) && c.GetString() is { Length: >= 7 } text ? $", commit {text[..7]}" : string.Empty;
        var retrieved = s.TryGetProperty("retrieved", out var r) && r.GetString() is { } date ? $", retrieved {date}" : string.Empty;
        return $"LiteLLM price map{commit}{retrieved}";
    }

    private static LlmModelInfo? Read(string key, JsonElement facts, string source)
    {
        if (Text(facts, "mode") != "chat" || Text(facts, "litellm_provider") is not { } litellmProvider || !Providers.TryGetValue(litellmProvider, out var provider))
        {
            return null;
        }

        var name = key.StartsWith(litellmProvider + "/", StringComparison.OrdinalIgnoreCase) ? key[(litellmProvider.Length + 1)..] : key;
        if (name.Length == 0)
        {
            return null;
        }

        var input = Price(facts, "input_cost_per_token");
        var output = Price(facts, "output_cost_per_token");
        var cached = Price(facts, "cache_read_input_token_cost");
        var batchInput = Price(facts, "input_cost_per_token_batches");
        var batchOutput = Price(facts, "output_cost_per_token_batches");
        return new LlmModelInfo
        {
            Model = $"{provider}/{name}",
            Provider = provider,
            ContextWindow = Count(facts, "max_input_tokens"),
            MaxOutputTokens = Count(facts, "max_output_tokens"),
            InputPerToken = input,
            OutputPerToken = output,
            CachedInputPerToken = cached,
            BatchInputPerToken = batchInput,
            BatchOutputPerToken = batchOutput,
            InputUsdPerMillion = PerMillion(input),
            OutputUsdPerMillion = PerMillion(output),
            CachedInputUsdPerMillion = PerMillion(cached),
            CacheWriteUsdPerMillion = PerMillion(Price(facts, "cache_creation_input_token_cost")),
            BatchInputUsdPerMillion = PerMillion(batchInput),
            BatchOutputUsdPerMillion = PerMillion(batchOutput),
            Capabilities =
            [
                .. Capability(facts, "supports_function_calling", "FunctionCalling"),
                .. Capability(facts, "supports_vision", "Vision"),
                .. Capability(facts, "supports_response_schema", "ResponseSchema"),
                .. Capability(facts, "supports_reasoning", "Reasoning"),
                .. Capability(facts, "supports_prompt_caching", "PromptCaching"),
            ],
            DeprecationDate = Text(facts, "deprecation_date") is { } date
                && DateTime.TryParseExact(date, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var d)
                ? d : null,
            Source = source,
        };
    }

    /// <summary>The capability names Get-LlmModel -Capability takes.</summary>
    public static IReadOnlyList<string> CapabilityNames { get; } = ["FunctionCalling", "Vision", "ResponseSchema", "Reasoning", "PromptCaching"];

    private static IEnumerable<string> Capability(JsonElement facts, string property, string name) =>
        facts.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.True ? [name] : [];

    private static string? Text(JsonElement facts, string property) =>
        facts.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static decimal? Price(JsonElement facts, string property) =>
        facts.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.Number && value.TryGetDouble(out var d) && d >= 0 && double.IsFinite(d)
            ? decimal.Parse(d.ToString("R", CultureInfo.InvariantCulture), NumberStyles.Float, CultureInfo.InvariantCulture)
            : null;

    /// <summary>USD per million tokens, without trailing zeros (0.15, not 0.15000000).</summary>
    private static decimal? PerMillion(decimal? perToken) => perToken is { } p ? p * 1_000_000m / 1.000000000000000000000000000000000m : null;

    private static long? Count(JsonElement facts, string property) =>
        facts.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.Number && value.TryGetDouble(out var d) && d >= 1 && d < long.MaxValue
            ? (long)d
            : null;

    private static LlmTasksException Invalid(string path, string problem) =>
        new(ErrorIds.InvalidModelPrices, LlmErrorCategory.InvalidArgument,
            $"$env:{PricesVariable} names '{path}', which cannot be used as a price map: {problem.TrimEnd('.')}. " +
            "Point it at LiteLLM's model_prices_and_context_window.json or an extract like the module's data/model-prices.json, or remove it for the prices shipped with the module.")
        { Target = path };

    /// <summary>A dated snapshot suffix: gpt-4o-mini-2024-07-18, claude-sonnet-4-5-20250929.</summary>
    [GeneratedRegex(@"-(\d{4}-\d{2}-\d{2}|\d{8})$")]
    private static partial Regex DatedSnapshot();
}

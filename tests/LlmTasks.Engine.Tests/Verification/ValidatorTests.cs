using LlmTasks.Providers;
using LlmTasks.Verification;

namespace LlmTasks.Tests.Verification;

public sealed class ValidatorTests
{
    private static readonly ProviderRegistry Providers = ProviderRegistry.CreateDefault();

    private static LlmVerificationResult Verify(string output, params CheckSpec[] specs) =>
        new Verifier(specs, Providers, new VerificationServices()).VerifyAsync(output, null, false, CancellationToken.None).GetAwaiter().GetResult();

    private static LlmVerificationResult Run(Verifier verifier, string output, bool failFast) =>
        verifier.VerifyAsync(output, null, failFast, CancellationToken.None).GetAwaiter().GetResult();

    private static void Passes(string output, CheckSpec spec) => Assert.True(Verify(output, spec).Passed, $"{spec.Type} should pass on: {output} ({Verify(output, spec).Summary})");

    private static string Fails(string output, CheckSpec spec)
    {
        var result = Verify(output, spec);
        Assert.False(result.Passed, $"{spec.Type} should fail on: {output}");
        return Assert.Single(result.Checks).Reason!;
    }

    [Fact]
    public void NotEmpty_fails_on_whitespace_and_error_payloads()
    {
        var spec = new CheckSpec { Type = "NotEmpty" };
        Passes("hello", spec);
        Assert.Contains("empty", Fails("  \n ", spec));
        Assert.Contains("error payload", Fails("{\"error\": {\"message\": \"rate limited\"}}", spec));
    }

    [Fact]
    public void Json_passes_plain_and_fenced_json_and_reports_the_parse_position()
    {
        var spec = new CheckSpec { Type = "json" };
        Passes("{\"a\": 1}", spec);
        Passes("Here:\n```json\n{\"a\": [1, 2]}\n```\nDone.", spec);
        var reason = Fails("{\"a\": 1,\n \"b\": }", spec);
        Assert.Contains("line 2", reason);
        Assert.Contains("position", reason);
    }

    [Fact]
    public void JsonSchema_failures_carry_the_json_path_and_reason()
    {
        var spec = new CheckSpec
        {
            Type = "JsonSchema",
            Schema = """{"type":"object","required":["name","age"],"properties":{"name":{"type":"string"},"age":{"type":"integer"}}}""",
        };
        Passes("""{"name":"Ada","age":36}""", spec);
        var result = Verify("""{"name":"Ada","age":"old"}""", spec);
        Assert.False(result.Passed);
        Assert.Contains("age", result.Checks[0].Reason);
        Assert.Contains("IntegerExpected", result.Checks[0].Reason);
        Assert.Contains("\"path\"", result.Checks[0].Details);
        Assert.Contains("PropertyRequired", Fails("""{"name":"Ada"}""", spec));
    }

    [Fact]
    public void FieldPresent_follows_dot_and_array_paths_with_value_and_absence()
    {
        const string json = """{"person":{"name":"Ada","tags":["a","b"],"address":[{"city":"London"}]},"n":4}""";
        Passes(json, new CheckSpec { Type = "FieldPresent", Path = "person.address[0].city" });
        Passes(json, new CheckSpec { Type = "FieldPresent", Path = "person.tags[1]", Value = "\"b\"" });
        Passes(json, new CheckSpec { Type = "FieldPresent", Path = "n", Value = "4.0" });
        Passes(json, new CheckSpec { Type = "FieldPresent", Path = "person.email", Present = false });
        Assert.Contains("missing", Fails(json, new CheckSpec { Type = "FieldPresent", Path = "person.address[1].city" }));
        Assert.Contains("expected \"Paris\"", Fails(json, new CheckSpec { Type = "FieldPresent", Path = "person.address[0].city", Value = "\"Paris\"" }));
        Assert.Contains("must not", Fails(json, new CheckSpec { Type = "FieldPresent", Path = "person.name", Present = false }));
    }

    [Fact]
    public void Regex_matches_with_options_and_gives_up_after_its_timeout()
    {
        Passes("The answer is 42.", new CheckSpec { Type = "Regex", Pattern = @"\b\d+\b" });
        Passes("HELLO", new CheckSpec { Type = "Regex", Pattern = "^hello$", Options = "IgnoreCase" });
        Assert.Contains("does not match", Fails("hello", new CheckSpec { Type = "Regex", Pattern = "^bye" }));
        var slow = new CheckSpec { Type = "Regex", Pattern = "^(a+)+$", TimeoutMs = 50 };
        Assert.Contains("gave up", Fails(new string('a', 40) + "!", slow));
    }

    [Fact]
    public void Contains_and_NotContains_with_lists_and_case()
    {
        Passes("The Answer is 4", new CheckSpec { Type = "Contains", Text = ["answer", "4"] });
        Assert.Contains("'ANSWER'", Fails("The Answer is 4", new CheckSpec { Type = "Contains", Text = ["ANSWER"], CaseSensitive = true }));
        Passes("fine", new CheckSpec { Type = "NotContains", Text = ["sorry", "as an AI"] });
        Assert.Contains("'Sorry'", Fails("Sorry, I cannot.", new CheckSpec { Type = "NotContains", Text = ["Sorry"] }));
    }

    [Fact]
    public void Length_counts_characters_or_words()
    {
        Passes("apple river cloud", new CheckSpec { Type = "Length", Min = 3, Max = 3, Words = true });
        Assert.Contains("has 4 words; it must have exactly 3", Fails("apple river cloud stone", new CheckSpec { Type = "Length", Min = 3, Max = 3, Words = true }));
        Passes("abcde", new CheckSpec { Type = "Length", Max = 5 });
        Assert.Contains("6 characters", Fails("abcdef", new CheckSpec { Type = "Length", Max = 5 }));
    }

    [Fact]
    public void Code_checks_json_fenced_languages_and_PowerShell_through_the_injected_parser()
    {
        Passes("```json\n{\"a\":1}\n```", new CheckSpec { Type = "Code", Language = "Json" });
        Passes("```python\nprint('hi')\n```", new CheckSpec { Type = "Code", Language = "python" });
        Assert.Contains("```python", Fails("print('hi')", new CheckSpec { Type = "Code", Language = "Python" }));

        var parser = new FakeParser();
        var verifier = new Verifier([new CheckSpec { Type = "Code", Language = "PowerShell" }], Providers, new VerificationServices(parser));
        var good = Run(verifier, "```powershell\nGet-Date\n```", false);
        var bad = Run(verifier, "```powershell\nGet-Date {\n```", false);
        Assert.True(good.Passed);
        Assert.False(bad.Passed);
        Assert.Contains("Missing closing", bad.Checks[0].Reason);
        Assert.Equal(["Get-Date", "Get-Date {"], parser.Seen);

        var noParser = Verify("Get-Date", new CheckSpec { Type = "Code", Language = "PowerShell" });
        Assert.True(noParser.Checks[0].Unavailable);
    }

    [Fact]
    public void Judge_verdicts_pass_and_fail_and_an_unusable_verdict_fails()
    {
        Passes("4", new CheckSpec { Type = "Judge", Model = "mock/echo", Criteria = "correct", MockResponse = """{"passed":true,"reasoning":"2+2 is 4"}""" });
        Assert.Contains("says: wrong sum", Fails("5", new CheckSpec { Type = "Judge", Model = "mock/echo", Criteria = "correct", MockResponse = """{"passed":false,"reasoning":"wrong sum"}""" }));
        Assert.Contains("no usable verdict", Fails("5", new CheckSpec { Type = "Judge", Model = "mock/echo", Criteria = "correct", MockResponse = "I think it is fine" }));
    }

    [Fact]
    public void Judge_prompt_placeholders_are_filled_and_its_call_goes_to_the_provider()
    {
        // mock/echo answers with the judge prompt itself, which is JSON once the placeholders are filled.
        var spec = new CheckSpec { Type = "Judge", Model = "mock/echo", Prompt = """{"passed": {OUTPUT}, "reasoning": "{PROMPT}"}""" };
        var result = Run(new Verifier([spec], Providers, new VerificationServices()), "true", false);
        Assert.True(result.Passed, result.Summary);
        Assert.Contains("inputTokens", result.Checks[0].Details);
    }

    [Fact]
    public void Checks_run_in_order_and_FailFast_stops_at_the_first_failure()
    {
        CheckSpec[] specs = [new() { Type = "Json" }, new() { Type = "Contains", Text = ["x"] }, new() { Type = "NotEmpty" }];
        var verifier = new Verifier(specs, Providers, new VerificationServices());
        var all = Run(verifier, "not json", false);
        Assert.Equal(["Json", "Contains", "NotEmpty"], all.Checks.Select(c => c.Type));
        Assert.Equal([false, false, true], all.Checks.Select(c => c.Passed));
        var fast = Run(verifier, "not json", true);
        Assert.Equal(["Json"], fast.Checks.Select(c => c.Type));
    }

    [Theory]
    [InlineData("Bogus", "unknown Type")]
    [InlineData("Regex", "needs Pattern")]
    [InlineData("JsonSchema", "needs Schema")]
    [InlineData("Length", "needs Min, Max")]
    [InlineData("Judge", "needs Model")]
    [InlineData("FieldPresent", "needs Path")]
    [InlineData("Contains", "needs Text")]
    [InlineData("Code", "needs Language")]
    public void Spec_errors_name_the_item_and_its_type(string type, string problem)
    {
        var error = Assert.Throws<LlmTasksException>(() => CheckFactory.Validate([new CheckSpec { Type = "NotEmpty" }, new CheckSpec { Type = type }], Providers));
        Assert.Equal(ErrorIds.InvalidVerification, error.ErrorId);
        Assert.Equal(LlmErrorCategory.InvalidArgument, error.Category);
        Assert.StartsWith($"Verify item 2 ({type})", error.Message);
        Assert.Contains(problem, error.Message);
    }

    [Fact]
    public void Invalid_regex_schema_and_judge_model_are_spec_errors()
    {
        Assert.Contains("not a valid regular expression", Assert.Throws<LlmTasksException>(() => CheckFactory.Validate([new CheckSpec { Type = "Regex", Pattern = "(" }], Providers)).Message);
        Assert.Contains("not a valid JSON schema", Assert.Throws<LlmTasksException>(() => CheckFactory.Validate([new CheckSpec { Type = "JsonSchema", Schema = "{ nope" }], Providers)).Message);
        Assert.Contains("Model is not usable", Assert.Throws<LlmTasksException>(() => CheckFactory.Validate([new CheckSpec { Type = "Judge", Model = "nope/x", Criteria = "c" }], Providers)).Message);
        Assert.Contains("no {OUTPUT}", Assert.Throws<LlmTasksException>(() => CheckFactory.Validate([new CheckSpec { Type = "Judge", Model = "mock/echo", Prompt = "judge it" }], Providers)).Message);
    }

    private sealed class FakeParser : ICodeParser
    {
        public List<string> Seen { get; } = [];

        public IReadOnlyList<string>? ParseErrors(string language, string code)
        {
            Seen.Add(code);
            return code.Contains('{') && !code.Contains('}') ? ["line 1, column 10: Missing closing '}'"] : [];
        }
    }
}

namespace LlmTasks.PowerShell.Tests;

/// <summary>
/// The environment is read in one place and checked when the options are built: a variable set to something the
/// engine cannot use is an LlmTaskInvalidEnvironment error of the cmdlet that needs it, naming the variable as
/// PowerShell users write it, instead of a value silently ignored; nothing is stored.
/// </summary>
public sealed class EnvironmentTests
{
    [Theory]
    [InlineData("LLMTASKS_MAX_RETRIES", "lots")]
    [InlineData("LLMTASKS_STREAMING", "maybe")]
    [InlineData("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "please")]
    public void A_variable_set_to_a_value_the_engine_cannot_use_is_an_error_naming_it(string variable, string value)
    {
        var store = Path.Combine(Path.GetTempPath(), "llmtasks-env-" + Guid.NewGuid().ToString("N") + ".db");
        try
        {
            var result = Pwsh.Run(["-Command", """
                try { $null = Start-LlmTask 'hi' -Model mock/echo -StorePath $env:T_STORE -Wait -ErrorAction Stop; 'started' }
                catch { "id: $($_.FullyQualifiedErrorId)"; "category: $($_.CategoryInfo.Category)"; "message: $($_.Exception.Message)" }
                "stored: $(Test-Path $env:T_STORE) $(if (Test-Path $env:T_STORE) { @(Get-LlmTask -StorePath $env:T_STORE -ErrorAction SilentlyContinue).Count })"
                """], new Dictionary<string, string?> { [variable] = value, ["T_STORE"] = store });

            Assert.Contains("id: LlmTaskInvalidEnvironment", result.Output);
            Assert.Contains("category: InvalidArgument", result.Output);
            Assert.Contains($"message: $env:{variable} is '{value}'", result.Output);
            Assert.DoesNotContain("started", result.Output);
            Assert.DoesNotContain("stored: True 1", result.Output);
        }
        finally
        {
            foreach (var file in new[] { store, store + "-wal", store + "-shm" })
            {
                File.Delete(file);
            }
        }
    }
}

using System.Management.Automation;
using System.Text;
using LlmTasks.Tests.Http;

namespace LlmTasks.PowerShell.Tests;

/// <summary>
/// Real providers through the cmdlets, against loopback servers. Base URLs and keys go per task
/// (-ApiBase, -ApiKey) so parallel tests never share process-wide variables.
/// </summary>
public sealed class ProviderTests : IDisposable
{
    private const string Key = "sk-llmtasks-KEY-SHOULD-NEVER-PERSIST-1234";

    private readonly PowerShellSession _ps = new();
    private readonly LoopbackServer _server = new();

    public void Dispose()
    {
        _ps.Dispose();
        _server.Dispose();
    }

    [Fact]
    public void ApiKey_takes_a_plain_string_and_a_bad_value_never_quotes_it()
    {
        _server.Script(Reply.Json(200, RecordedResponses.OpenAIChat("4")));
        var result = _ps.Run("""
            (Start-LlmTask -Model openai/gpt-4o-mini -Prompt 'What is 2+2?' -ApiBase $args[0] -ApiKey 'sk-plain-string-key-42' -Wait).Output
            try { Start-LlmTask -Model openai/gpt-4o-mini -Prompt 'x' -ApiKey @{ secret = 'sk-in-a-hashtable-43' } } catch { $_.ToString() }
            """, _server.Url + "/v1");
        Assert.Equal("4", result.Output[0].ToString());
        Assert.Equal("Bearer sk-plain-string-key-42", _server.Requests.Single().Header("Authorization"));
        Assert.DoesNotContain("sk-in-a-hashtable-43", result.Output[1].ToString());
        Assert.Contains("-ApiKey takes a SecureString or a string", result.Output[1].ToString());
    }

    [Fact]
    public void Start_Wait_with_an_openai_model_completes_with_the_endpoints_answer()
    {
        _server.Script(Reply.Json(200, RecordedResponses.OpenAIChat("4")));
        var result = _ps.Run("""
            $key = [Net.NetworkCredential]::new('', 'sk-test-cmdlet-000000').SecurePassword
            Start-LlmTask -Model openai/gpt-4o-mini -Prompt 'What is 2+2?' -ApiBase $args[0] -ApiKey $key -Wait
            """, _server.Url + "/v1").Ok();
        var task = result.Output.Single();
        Assert.Equal("Completed", task.Properties["State"].Value.ToString());
        Assert.Equal("4", task.Properties["Output"].Value);
        Assert.Equal(31L, task.Properties["InputTokens"].Value);
        Assert.NotNull(task.Properties["CostUsd"].Value);
        var request = _server.Requests.Single();
        Assert.Equal("What is 2+2?", request.Json.GetProperty("messages")[0].GetProperty("content").GetString());
        Assert.Equal("Bearer sk-test-cmdlet-000000", request.Header("Authorization"));
    }

    [Fact]
    public void Start_Wait_with_an_anthropic_model_completes_and_Receive_emits_its_json_as_an_object()
    {
        _server.Script(Reply.Json(200, RecordedResponses.AnthropicMessage("""{"answer":4}""")));
        var result = _ps.Run("""
            $key = [Net.NetworkCredential]::new('', 'sk-ant-test-000000').SecurePassword
            $t = Start-LlmTask -Model anthropic/claude-sonnet-4-5 -Prompt 'What is 2+2?' -System 'Answer in JSON.' -ApiBase $args[0] -ApiKey $key `
                -JsonSchema @{ type = 'object'; properties = @{ answer = @{ type = 'integer' } }; required = @('answer') } -Wait
            $t.State
            ($t | Receive-LlmTask).answer
            """, _server.Url).Ok();
        Assert.Equal(["Completed", "4"], result.Output.Select(o => o.ToString()));
        var body = _server.Requests.Single().Json;
        Assert.Equal("Answer in JSON.", body.GetProperty("system")[0].GetProperty("text").GetString());
        Assert.Equal("json_schema", body.GetProperty("output_config").GetProperty("format").GetProperty("type").GetString());
    }

    [Fact]
    public void A_401_ends_Failed_with_the_cause_and_Receive_writes_it_as_an_error()
    {
        _server.Script(Reply.Json(401, RecordedResponses.OpenAIError("Incorrect API key provided.", "invalid_request_error", "invalid_api_key")));
        var result = _ps.Run("""
            $key = [Net.NetworkCredential]::new('', 'sk-test-wrong-000000').SecurePassword
            $t = Start-LlmTask -Model openai/gpt-4o-mini -Prompt 'hi' -ApiBase $args[0] -ApiKey $key -Wait
            $t.State; $t.ErrorKind; $t.Attempts
            try { $t | Receive-LlmTask -ErrorAction Stop; 'not reached' } catch { $_.Exception.Message }
            """, _server.Url + "/v1").Ok();
        Assert.Equal("Failed", result.Output[0].ToString());
        Assert.Equal("AuthenticationFailed", result.Output[1].ToString());
        Assert.Equal("1", result.Output[2].ToString());
        Assert.Contains("Incorrect API key provided.", result.Output[3].ToString());
    }

    [Fact]
    public void A_missing_key_fails_the_task_naming_the_variable()
    {
        var result = _ps.Run("""
            $t = Start-LlmTask -Model openrouter/some/model -Prompt 'hi' -ApiBase $args[0] -Wait
            $t.ErrorKind; $t.Error
            """, _server.Url).Ok();
        Assert.Equal("LlmTaskMissingApiKey", result.Output[0].ToString());
        Assert.Contains("$env:OPENROUTER_API_KEY", result.Output[1].ToString());
    }

    [Fact]
    public void The_api_key_is_never_written_to_the_store_files_or_any_stream()
    {
        // Each request path picks its reply, so tasks may run in any order.
        var openai = new LoopbackServer().Script(Reply.Json(200, RecordedResponses.OpenAIChat("ok")));
        var unauthorized = new LoopbackServer().Script(Reply.Json(401, RecordedResponses.OpenAIError("Incorrect API key provided.", "invalid_request_error", "invalid_api_key")));
        var failing = new LoopbackServer().Script(Reply.Json(500, RecordedResponses.OpenAIError("boom", "server_error"), ("retry-after-ms", "10")));
        var anthropic = new LoopbackServer().Script(Reply.Json(401, RecordedResponses.AnthropicError("authentication_error", "invalid x-api-key")));
        var viaEnvironment = new LoopbackServer().Script(Reply.Json(200, RecordedResponses.OpenAIChat("from env")));
        Environment.SetEnvironmentVariable("VLLM_API_KEY", Key); // vllm/ is used by no other test
        var storeFolder = Path.Combine(Path.GetTempPath(), "llmtasks-pstests", "keys-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(storeFolder);
        var session = new PowerShellSession(Path.Combine(storeFolder, "tasks.db"));
        try
        {
            var result = session.Run("""
                $VerbosePreference = 'Continue'; $DebugPreference = 'Continue'; $InformationPreference = 'Continue'; $WarningPreference = 'Continue'
                $key = [Net.NetworkCredential]::new('', $args[0]).SecurePassword
                $urls = $args
                $all = & {
                    $tasks = @(
                        Start-LlmTask -Model openai/gpt-4o-mini -Prompt 'fine' -ApiBase $urls[1] -ApiKey $key -Verbose -Debug
                        Start-LlmTask -Model openai/gpt-4o-mini -Prompt 'unauthorized' -ApiBase $urls[2] -ApiKey $key -Verbose -Debug
                        Start-LlmTask -Model openai/gpt-4o-mini -Prompt 'server error' -ApiBase $urls[3] -ApiKey $key -Verbose -Debug
                        Start-LlmTask -Model anthropic/claude-haiku-4-5 -Prompt 'anthropic' -ApiBase $urls[4] -ApiKey $key -Verbose -Debug
                        Start-LlmTask -Model vllm/qwen -Prompt 'environment' -ApiBase $urls[5] -Verbose -Debug
                    )
                    $tasks | Wait-LlmTask -Verbose -Debug
                    $tasks | Receive-LlmTask -Verbose -Debug
                    Get-LlmTask -Verbose -Debug
                    foreach ($t in $tasks) { $t.Refresh().Request }
                } *>&1
                foreach ($item in $all) {
                    "$item"
                    if ($item -is [Management.Automation.ErrorRecord]) { $item.Exception.ToString(); "$($item.TargetObject)"; $item.FullyQualifiedErrorId }
                    foreach ($p in $item.PSObject.Properties) { '{0}={1}' -f $p.Name, $p.Value }
                }
                '---states---'
                foreach ($t in (Get-LlmTask)) { '{0}:{1}:{2}' -f $t.Prompt, $t.State, $t.ErrorKind }
                """, Key, openai.Url + "/v1", unauthorized.Url + "/v1", failing.Url + "/v1", anthropic.Url, viaEnvironment.Url + "/v1");

            // The key was really used, by every route.
            Assert.Equal("Bearer " + Key, openai.Requests.Single().Header("Authorization"));
            Assert.Equal("Bearer " + Key, unauthorized.Requests.Single().Header("Authorization"));
            Assert.Equal(4, failing.Requests.Count); // the first try and 3 retries
            Assert.True(anthropic.Requests.Single().Header("x-api-key") == Key || anthropic.Requests.Single().Header("Authorization") == "Bearer " + Key);
            Assert.Equal("Bearer " + Key, viaEnvironment.Requests.Single().Header("Authorization"));

            var text = string.Join("\n", result.Output.Select(o => o?.ToString()))
                + string.Join("\n", result.Errors.Select(e => e + " " + e.Exception + " " + e.TargetObject))
                + result.Terminating;
            var states = text[text.IndexOf("---states---", StringComparison.Ordinal)..];
            Assert.Contains("fine:Completed:", states);
            Assert.Contains("unauthorized:Failed:AuthenticationFailed", states);
            Assert.Contains("server error:Failed:ServerError", states);
            Assert.Contains("anthropic:Failed:AuthenticationFailed", states);
            Assert.Contains("environment:Completed:", states);
            Assert.DoesNotContain(Key, text);
            Assert.DoesNotContain("KEY-SHOULD-NEVER-PERSIST", text);

            // The store, read as raw bytes while the session holds it open (the WAL has the newest pages) and after it closed.
            AssertKeyAbsentFromFiles(storeFolder);
            session.Dispose();
            AssertKeyAbsentFromFiles(storeFolder);
        }
        finally
        {
            session.Dispose();
            Directory.Delete(storeFolder, recursive: true);
            Environment.SetEnvironmentVariable("VLLM_API_KEY", null);
            foreach (var server in new[] { openai, unauthorized, failing, anthropic, viaEnvironment })
            {
                server.Dispose();
            }
        }
    }

    /// <summary>
    /// Keys that look like nothing in particular (Azure's hex, a LiteLLM or Ollama token, the CLI's OAuth token),
    /// for every kind of provider, read from the environment of a real pwsh (and one from -ApiKey), each echoed
    /// back by the server in its 401 body ("Incorrect API key provided: …") or in an answer: none of them is in
    /// any stream or in any byte of the store files, read while the session holds the store and after it exited.
    /// </summary>
    [Fact]
    public void Keys_of_every_provider_kind_echoed_by_the_server_are_never_stored_or_shown()
    {
        if (OperatingSystem.IsWindows())
        {
            return; // the fake CLI is a bash script
        }

        string Secret(string kind) => $"{kind}{Guid.NewGuid():N}"; // no sk- shape: only knowing the key can hide it
        var keys = new Dictionary<string, string>
        {
            ["OPENAI_API_KEY"] = Secret("oa"),
            ["OLLAMA_API_KEY"] = Secret("ol"),
            ["VLLM_API_KEY"] = Secret("vl"),
            ["LMSTUDIO_API_KEY"] = Secret("lm"),
            ["OPENROUTER_API_KEY"] = Secret("or"),
            ["LITELLM_API_KEY"] = Secret("ll"),
            ["AZURE_OPENAI_API_KEY"] = Convert.ToHexString(Guid.NewGuid().ToByteArray()).ToLowerInvariant(),
            ["ANTHROPIC_API_KEY"] = Secret("an"),
            ["CLAUDE_CODE_OAUTH_TOKEN"] = Secret("oauth"),
            ["TASK_KEY"] = Secret("task"), // given as -ApiKey; the server answers 200 with it in the text
        };

        static string? SentKey(RecordedRequest r) =>
            r.Header("x-api-key") ?? r.Header("api-key") ?? r.Header("Authorization")?.Replace("Bearer ", string.Empty, StringComparison.Ordinal);
        using var echo = new LoopbackServer().Script(Reply.From(r =>
            r.Target.Contains("/messages", StringComparison.Ordinal)
                ? Reply.Json(401, RecordedResponses.AnthropicError("authentication_error", $"invalid x-api-key: {SentKey(r)}"))
                : SentKey(r) == keys["TASK_KEY"]
                    ? Reply.Json(200, RecordedResponses.OpenAIChat($"The key you sent is {SentKey(r)}."))
                    : Reply.Json(401, RecordedResponses.OpenAIError($"Incorrect API key provided: {SentKey(r)}. You can find your API key at https://example.invalid.", "invalid_request_error", "invalid_api_key"))));

        var folder = Path.Combine(Path.GetTempPath(), "llmtasks-pstests", "echoed-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        var cli = Path.Combine(folder, "claude");
        File.WriteAllText(cli, """
            #!/usr/bin/env bash
            cat > /dev/null
            echo "the CLI used token $CLAUDE_CODE_OAUTH_TOKEN" >&2
            printf '{"type":"result","subtype":"success","is_error":true,"api_error_status":401,"result":"Invalid bearer token: %s","session_id":"s-1","num_turns":1,"usage":{"input_tokens":1,"output_tokens":0}}\n' "$CLAUDE_CODE_OAUTH_TOKEN"
            exit 1
            """.Replace("\r\n", "\n"));
        File.SetUnixFileMode(cli, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var store = Path.Combine(folder, "store", "tasks.db");
        var environment = new Dictionary<string, string?>(keys.Where(k => k.Key != "TASK_KEY").Select(k => KeyValuePair.Create(k.Key, (string?)k.Value)))
        {
            ["TASK_KEY"] = keys["TASK_KEY"],
            ["OPENAI_BASE_URL"] = echo.Url + "/v1",
            ["OLLAMA_BASE_URL"] = echo.Url + "/v1",
            ["VLLM_BASE_URL"] = echo.Url + "/v1",
            ["LMSTUDIO_BASE_URL"] = echo.Url + "/v1",
            ["OPENROUTER_BASE_URL"] = echo.Url + "/v1",
            ["LITELLM_BASE_URL"] = echo.Url + "/v1",
            ["AZURE_OPENAI_ENDPOINT"] = echo.Url,
            ["ANTHROPIC_BASE_URL"] = echo.Url,
            ["LLMTASKS_CLAUDE_PATH"] = cli,
            ["LLMTASKS_MAX_RETRIES"] = "0",
        };
        try
        {
            var run = Pwsh.Command("""
                $VerbosePreference = 'Continue'; $DebugPreference = 'Continue'; $InformationPreference = 'Continue'; $WarningPreference = 'Continue'
                $ErrorActionPreference = 'Continue'
                $models = 'openai/gpt-4o-mini', 'ollama/llama3.2', 'vllm/qwen', 'lmstudio/qwen', 'openrouter/meta/llama', 'litellm/alias',
                          'azure/my-deployment', 'anthropic/claude-haiku-4-5', 'max/sonnet'
                $all = & {
                    $tasks = @(
                        foreach ($m in $models) { Start-LlmTask -Model $m -Prompt "hello $m" -Verbose -Debug }
                        Start-LlmTask -Model openai/gpt-4o-mini -Prompt 'own key' -ApiBase $env:OPENAI_BASE_URL -ApiKey $env:TASK_KEY -Verbose -Debug
                    )
                    $tasks | Wait-LlmTask -Verbose -Debug
                    $tasks | Receive-LlmTask -Verbose -Debug
                    Get-LlmTask -Verbose -Debug
                    $tasks | Get-LlmTaskAttempt -Verbose -Debug
                } *>&1
                foreach ($item in $all) {
                    "$item"
                    if ($item -is [Management.Automation.ErrorRecord]) { $item.Exception.ToString(); "$($item.TargetObject)"; $item.FullyQualifiedErrorId }
                    foreach ($p in $item.PSObject.Properties) { '{0}={1}' -f $p.Name, $p.Value }
                }
                # The store's raw bytes while this session holds it open (the WAL has the newest pages).
                $secrets = 'OPENAI_API_KEY', 'OLLAMA_API_KEY', 'VLLM_API_KEY', 'LMSTUDIO_API_KEY', 'OPENROUTER_API_KEY', 'LITELLM_API_KEY',
                           'AZURE_OPENAI_API_KEY', 'ANTHROPIC_API_KEY', 'CLAUDE_CODE_OAUTH_TOKEN', 'TASK_KEY' | ForEach-Object { [Environment]::GetEnvironmentVariable($_) }
                foreach ($file in Get-ChildItem (Split-Path $env:LLMTASKS_STORE) -File) {
                    $stream = [IO.File]::Open($file.FullName, 'Open', 'Read', 'ReadWrite, Delete')
                    $copy = [IO.MemoryStream]::new(); $stream.CopyTo($copy); $stream.Dispose()
                    $text = [Text.Encoding]::Latin1.GetString($copy.ToArray())
                    foreach ($secret in $secrets) {
                        foreach ($needle in [Text.Encoding]::UTF8.GetBytes($secret), [Text.Encoding]::Unicode.GetBytes($secret)) {
                            if ($text.Contains([Text.Encoding]::Latin1.GetString($needle))) { "LEAK in open $($file.Name)" }
                        }
                    }
                    if ($text.Contains('Incorrect API key provided')) { "SEEN stored error in $($file.Name)" }
                }
                '---states---'
                foreach ($t in (Get-LlmTask)) { '{0}|{1}|{2}' -f $t.Model, $t.State, $t.ErrorKind }
                """, store, timeoutSeconds: 300, environment);

            var text = run.Output + run.Errors;
            Assert.True(run.ExitCode == 0, text);
            foreach (var (name, key) in keys)
            {
                Assert.False(text.Contains(key, StringComparison.Ordinal), $"the key of ${name} was written to a stream:\n{text}");
            }

            Assert.DoesNotContain("LEAK", text);
            Assert.Contains("SEEN stored error", text); // the errors are in the files read: the search proves something
            var states = text[text.IndexOf("---states---", StringComparison.Ordinal)..];
            foreach (var model in new[] { "openai/gpt-4o-mini", "ollama/llama3.2", "vllm/qwen", "lmstudio/qwen", "openrouter/meta/llama", "litellm/alias", "azure/my-deployment", "anthropic/claude-haiku-4-5", "max/sonnet" })
            {
                Assert.Contains($"{model}|Failed|AuthenticationFailed", states);
            }

            Assert.Contains("openai/gpt-4o-mini|Completed|", states);
            Assert.Contains("The key you sent is ***.", text); // an answer loses the key, and only the key

            // Every key really went to the server (so each one could have been echoed), the CLI's token to the CLI.
            var sent = echo.Requests.Select(SentKey).ToHashSet();
            Assert.All(keys.Where(k => k.Key != "CLAUDE_CODE_OAUTH_TOKEN"), k => Assert.Contains(k.Value, sent));
            Assert.Contains("Invalid bearer token: ***", text);

            AssertNoKeyInFiles(Path.GetDirectoryName(store)!, keys.Values); // after the session exited
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    private static void AssertNoKeyInFiles(string folder, IEnumerable<string> keys)
    {
        var files = Directory.GetFiles(folder, "*", SearchOption.AllDirectories);
        Assert.Contains(files, f => f.EndsWith("tasks.db", StringComparison.Ordinal));
        foreach (var file in files)
        {
            var bytes = File.ReadAllBytes(file);
            foreach (var key in keys)
            {
                foreach (var needle in new[] { Encoding.UTF8.GetBytes(key), Encoding.Unicode.GetBytes(key) })
                {
                    Assert.True(bytes.AsSpan().IndexOf(needle) < 0, $"a key's bytes are in {file}");
                }
            }
        }
    }

    private static void AssertKeyAbsentFromFiles(string folder)
    {
        var files = Directory.Exists(folder) ? Directory.GetFiles(folder, "*", SearchOption.AllDirectories) : [];
        Assert.Contains(files, f => f.EndsWith("tasks.db", StringComparison.Ordinal));
        var sawStoredError = false;
        foreach (var file in files)
        {
            byte[] bytes;
            using (var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete))
            {
                using var copy = new MemoryStream();
                stream.CopyTo(copy);
                bytes = copy.ToArray();
            }

            foreach (var needle in new[] { Encoding.UTF8.GetBytes("KEY-SHOULD-NEVER-PERSIST"), Encoding.Unicode.GetBytes("KEY-SHOULD-NEVER-PERSIST") })
            {
                Assert.True(bytes.AsSpan().IndexOf(needle) < 0, $"the key's bytes are in {file}");
            }

            sawStoredError |= bytes.AsSpan().IndexOf(Encoding.UTF8.GetBytes("Incorrect API key provided.")) >= 0;
        }

        Assert.True(sawStoredError, "the failed attempts' errors are not in the files read: the search would prove nothing");
    }
}

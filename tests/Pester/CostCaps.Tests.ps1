#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0' }
# A task's cost cap (-MaxCostUsd) through the cmdlets, against a loopback OpenAI-style server whose answers report a
# large usage (so each call of openai/gpt-4o-mini costs $0.15 at the shipped price map's $0.15 per million input tokens).

BeforeAll {
    $manifest = Join-Path $PSScriptRoot '../../out/LlmTasks/LlmTasks.psd1'
    Import-Module $manifest -Force
    $script:folder = Join-Path ([System.IO.Path]::GetTempPath()) "llmtasks-pester-costcaps-$([guid]::NewGuid())"
    New-Item -ItemType Directory -Path $script:folder | Out-Null
    $PSDefaultParameterValues['*-Llm*:StorePath'] = Join-Path $script:folder 'tasks.db'
    $script:key = ConvertTo-SecureString 'sk-test-0123456789abcdef' -AsPlainText -Force
    $script:savedPrices = $env:LLMTASKS_MODEL_PRICES
    Remove-Item Env:LLMTASKS_MODEL_PRICES -ErrorAction SilentlyContinue # the shipped map prices the calls

    if (-not ('LlmTasksPester.PricedServer' -as [type])) {
        Add-Type -TypeDefinition @'
using System;
using System.Net;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
namespace LlmTasksPester {
    /// <summary>Answers every chat completion with Content (streamed when asked), reporting a million prompt tokens; counts the calls.</summary>
    public sealed class PricedServer : IDisposable {
        private readonly HttpListener _listener = new HttpListener();
        private int _calls;
        public string Content = "not a number";
        public int Calls { get { return Volatile.Read(ref _calls); } }
        public string BaseUrl { get; }
        public PricedServer(int port) {
            BaseUrl = "http://127.0.0.1:" + port + "/v1";
            _listener.Prefixes.Add("http://127.0.0.1:" + port + "/");
            _listener.Start();
            Task.Run(Loop);
        }
        private async Task Loop() {
            while (_listener.IsListening) {
                HttpListenerContext context;
                try { context = await _listener.GetContextAsync(); } catch { return; }
                _ = Task.Run(() => Answer(context));
            }
        }
        private void Answer(HttpListenerContext context) {
            string request;
            using (var reader = new System.IO.StreamReader(context.Request.InputStream)) { request = reader.ReadToEnd(); }
            Interlocked.Increment(ref _calls);
            var response = context.Response;
            const string usage = "\"usage\":{\"prompt_tokens\":1000000,\"completion_tokens\":0,\"total_tokens\":1000000}";
            const string head = "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1730000000,\"model\":\"gpt-4o-mini\",\"choices\":";
            var streamed = request.Replace(" ", "").Contains("\"stream\":true");
            var body = streamed
                ? head + "[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"" + Content + "\"},\"finish_reason\":null}]}\n\n"
                    + head + "[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n"
                    + head + "[]," + usage + "}\n\n" + "data: [DONE]\n\n"
                : "{\"id\":\"c1\",\"object\":\"chat.completion\",\"created\":1730000000,\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\""
                    + Content + "\"},\"finish_reason\":\"stop\"}]," + usage + "}";
            var bytes = Encoding.UTF8.GetBytes(body);
            response.ContentType = streamed ? "text/event-stream" : "application/json";
            response.ContentLength64 = bytes.Length;
            response.OutputStream.Write(bytes, 0, bytes.Length);
            response.Close();
        }
        public void Dispose() { _listener.Stop(); _listener.Close(); }
    }
}
'@
    }

    function script:New-PricedServer {
        $probe = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0)
        $probe.Start(); $port = $probe.LocalEndpoint.Port; $probe.Stop()
        [LlmTasksPester.PricedServer]::new($port)
    }
}

AfterAll {
    $env:LLMTASKS_MODEL_PRICES = $script:savedPrices
    Remove-Module LlmTasks -ErrorAction SilentlyContinue
    Remove-Item $script:folder -Recurse -Force -ErrorAction SilentlyContinue
}

Describe 'Start-LlmTask -MaxCostUsd' {
    It 'stops re-asking once the next call would pass the cap: the task ends Failed with ErrorKind CostLimit' {
        $server = New-PricedServer
        try {
            $task = Start-LlmTask 'Give a number' -Model openai/gpt-4o-mini -ApiBase $server.BaseUrl -ApiKey $script:key `
                -Verify @{ Type = 'Regex'; Pattern = '^\d+$' } -MaxAttempts 10 -MaxCostUsd 0.40 -Wait
            # $0.15, $0.30, then $0.45 (the third call started under the cap); a fourth would start past it.
            $server.Calls | Should -Be 3
            $task.State | Should -Be 'Failed'
            $task.ErrorKind | Should -Be 'CostLimit'
            $task.Error | Should -BeLike '*has cost $0.45 of its -MaxCostUsd 0.4*Restart-LlmTask -MaxCostUsd*'
            $task.CostUsd | Should -Be 0.45
            @($task | Get-LlmTaskAttempt) | Should -HaveCount 3 -Because 'the call that was not made has no attempt row'
            ($task | Get-LlmTask).ErrorKind | Should -Be 'CostLimit'

            # A higher cap: what the task has cost counts, so one more call fits under $0.60.
            $server.Content = '42'
            $again = $task | Restart-LlmTask -MaxCostUsd 0.60 -ApiKey $script:key -Wait
            $again.State | Should -Be 'Completed'
            $again.Output | Should -Be '42'
            $server.Calls | Should -Be 4
            $again.CostUsd | Should -Be 0.60
        }
        finally { $server.Dispose() }
    }

    It 'leaves a task under its cap alone, and binds MaxCostUsd from piped objects' {
        $server = New-PricedServer
        try {
            $server.Content = '7'
            $tasks = @(
                [pscustomobject]@{ Prompt = 'one'; MaxCostUsd = '1' }
                [pscustomobject]@{ Prompt = 'two'; MaxCostUsd = '0.1' }
            ) | Start-LlmTask -Model openai/gpt-4o-mini -ApiBase $server.BaseUrl -ApiKey $script:key -Wait
            $tasks | Should -HaveCount 2
            $tasks[0].State | Should -Be 'Completed'
            $tasks[0].CostUsd | Should -Be 0.15
            # The second's prompt is tiny, so its first call is sure to cost far less than its cap and is made; the answer's
            # cost ($0.15) takes it past the cap, which is the one answer a task may end past it.
            $tasks[1].State | Should -Be 'Completed'
            $server.Calls | Should -Be 2
            ($tasks | Get-LlmTask).Request.MaxCostUsd | Should -Be @(1, 0.1) -Because 'the cap is stored with the request'
        }
        finally { $server.Dispose() }
    }

    It 'refuses a cap that is not more than 0, or with -AsBatch, with LlmTaskInvalidMaxCost, storing nothing' {
        $before = @(Get-LlmTask).Count
        foreach ($bad in 0, -1, 2000000) {
            $err = $null
            Start-LlmTask 'x' -Model mock/echo -MaxCostUsd $bad -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
            $err | Should -HaveCount 1
            $err[0].FullyQualifiedErrorId | Should -BeLike 'LlmTaskInvalidMaxCost,*'
            $err[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
            $err[0].Exception.Message | Should -BeLike '*-MaxCostUsd must be more than 0*'
        }

        # A batch's requests go together: no call could be held back at the cap.
        $err = $null
        Start-LlmTask 'x' -Model mock/echo -AsBatch -MaxCostUsd 1 -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $err[0].FullyQualifiedErrorId | Should -BeLike 'LlmTaskInvalidMaxCost,*'
        $err[0].Exception.Message | Should -BeLike '*does not apply to -AsBatch*'

        @(Get-LlmTask).Count | Should -Be $before
    }
}

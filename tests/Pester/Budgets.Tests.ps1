#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0' }
# Budgets per store or task name per period (Set/Get/Remove-LlmBudget) through the cmdlets in real pwsh, and a task held
# by one: a loopback OpenAI-style server whose answers report a million prompt tokens (each call of openai/gpt-4o-mini
# costs $0.15 at the shipped price map).

BeforeAll {
    $manifest = Join-Path $PSScriptRoot '../../out/LlmTasks/LlmTasks.psd1'
    Import-Module $manifest -Force
    $script:folder = Join-Path ([System.IO.Path]::GetTempPath()) "llmtasks-pester-budgets-$([guid]::NewGuid())"
    New-Item -ItemType Directory -Path $script:folder | Out-Null
    $PSDefaultParameterValues['*-Llm*:StorePath'] = Join-Path $script:folder 'tasks.db'
    $script:key = ConvertTo-SecureString 'sk-test-0123456789abcdef' -AsPlainText -Force
    $script:savedPrices = $env:LLMTASKS_MODEL_PRICES
    Remove-Item Env:LLMTASKS_MODEL_PRICES -ErrorAction SilentlyContinue # the shipped map prices the calls

    if (-not ('LlmTasksPester.BudgetPricedServer' -as [type])) {
        Add-Type -TypeDefinition @'
using System;
using System.Net;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
namespace LlmTasksPester {
    /// <summary>Answers every chat completion with Content (streamed when asked), reporting a million prompt tokens; counts the calls.</summary>
    public sealed class BudgetPricedServer : IDisposable {
        private readonly HttpListener _listener = new HttpListener();
        private int _calls;
        public string Content = "42";
        public int Calls { get { return Volatile.Read(ref _calls); } }
        public string BaseUrl { get; }
        public BudgetPricedServer(int port) {
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
        [LlmTasksPester.BudgetPricedServer]::new($port)
    }
}

AfterAll {
    $env:LLMTASKS_MODEL_PRICES = $script:savedPrices
    Remove-Module LlmTasks -ErrorAction SilentlyContinue
    Remove-Item $script:folder -Recurse -Force -ErrorAction SilentlyContinue
}

Describe 'Set-LlmBudget, Get-LlmBudget, Remove-LlmBudget' {
    AfterEach { Get-LlmBudget | Remove-LlmBudget }

    It 'sets, lists, changes and removes budgets kept in the store, and pipes into Format-Table and ConvertTo-Json' {
        $set = Set-LlmBudget -Scope store -Period Day -MaxCostUsd 5 -PassThru
        $set.Scope | Should -Be 'store'
        $set.Period | Should -Be 'Day'
        $set.MaxCostUsd | Should -Be 5
        $set.SpentUsd | Should -Be 0
        $set.PeriodEnd | Should -Be ([DateTimeOffset]::new([DateTime]::UtcNow.Date.AddDays(1), [TimeSpan]::Zero))
        Set-LlmBudget -Scope 'reviews*' -Period Month -MaxCostUsd 40 | Should -BeNullOrEmpty -Because 'without -PassThru it writes nothing'
        Set-LlmBudget -Scope 'reviews*' -Period Month -MaxCostUsd 50 # the same budget, a new cap

        $all = @(Get-LlmBudget)
        $all | Should -HaveCount 2
        ($all | Where-Object Scope -eq 'reviews*').MaxCostUsd | Should -Be 50
        @(Get-LlmBudget -Period Day).Scope | Should -Be @('store')
        @(Get-LlmBudget 'rev*').Scope | Should -Be @('reviews*')

        $table = Get-LlmBudget | Format-Table | Out-String
        $table | Should -Match 'Scope\s+Period\s+MaxCostUsd\s+SpentUsd'
        $table | Should -Match "reviews\*\s+Month\s+50\.00"
        $json = Get-LlmBudget | ConvertTo-Json | ConvertFrom-Json
        @($json).Count | Should -Be 2
        ($json | Where-Object Scope -eq 'store').MaxCostUsd | Should -Be 5

        Set-LlmBudget -Scope other -Period Hour -MaxCostUsd 1 -WhatIf
        @(Get-LlmBudget -Scope other) | Should -HaveCount 0 -Because '-WhatIf stores nothing'

        Remove-LlmBudget -Scope 'reviews*'
        @(Get-LlmBudget).Scope | Should -Be @('store')
    }

    It 'refuses bad input with its own error ids and stores nothing' {
        $err = $null
        Set-LlmBudget -Scope store -Period Day -MaxCostUsd -1 -ErrorVariable err -ErrorAction SilentlyContinue
        $err | Should -HaveCount 1
        $err[0].FullyQualifiedErrorId | Should -BeLike 'LlmTaskInvalidBudget,*'
        $err[0].CategoryInfo.Category | Should -Be 'InvalidArgument'

        $err = $null
        Set-LlmBudget -Scope 'a[b' -Period Day -MaxCostUsd 1 -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'LlmTaskInvalidBudget,*'
        @(Get-LlmBudget) | Should -HaveCount 0

        { Set-LlmBudget -Scope store -Period Year -MaxCostUsd 1 -ErrorAction Stop } | Should -Throw -ErrorId 'ParameterArgumentValidationError*'

        $err = $null
        Remove-LlmBudget -Scope nothing -Period Day -ErrorVariable err -ErrorAction SilentlyContinue
        $err | Should -HaveCount 1
        $err[0].FullyQualifiedErrorId | Should -BeLike 'LlmTaskBudgetNotFound,*'
        $err[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
        $err[0].Exception.Message | Should -BeLike '*Get-LlmBudget lists*'
    }

    It 'holds a task whose name budget is spent Pending with the reason, and runs it when the budget is removed' {
        $server = New-PricedServer
        try {
            Set-LlmBudget -Scope 'priced-*' -Period Day -MaxCostUsd 0.15
            $first = Start-LlmTask 'one' -Name priced-1 -Model openai/gpt-4o-mini -ApiBase $server.BaseUrl -ApiKey $script:key -Wait
            $first.State | Should -Be 'Completed'
            $first.CostUsd | Should -Be 0.15
            $budget = Get-LlmBudget 'priced-*'
            $budget.SpentUsd | Should -Be 0.15
            $budget.IsExhausted | Should -BeTrue

            $outside = Start-LlmTask 'free' -Name other -Model mock/echo -Wait
            $outside.State | Should -Be 'Completed' -Because 'a task outside the scope is not held'

            $held = Start-LlmTask 'two' -Name priced-2 -Model openai/gpt-4o-mini -ApiBase $server.BaseUrl -ApiKey $script:key
            $deadline = [DateTime]::UtcNow.AddSeconds(60)
            do { Start-Sleep -Milliseconds 100; $now = $held | Get-LlmTask } until ($now.ErrorKind -eq 'BudgetHold' -or [DateTime]::UtcNow -gt $deadline)
            $now.State | Should -Be 'Pending'
            $now.ErrorKind | Should -Be 'BudgetHold'
            $now.Error | Should -Match "Waiting for budget 'Day' of 'priced-\*' \(0\.15 USD spent of 0\.15; the period turns at"
            $server.Calls | Should -Be 1 -Because 'the held task made no call'

            Remove-LlmBudget -Scope 'priced-*'
            $done = $held | Wait-LlmTask -TimeoutSec 60
            $done.State | Should -Be 'Completed'
            $done.Output | Should -Be '42'
            $server.Calls | Should -Be 2
        }
        finally { $server.Dispose() }
    }
}

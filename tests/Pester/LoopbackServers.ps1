# The loopback OpenAI-style servers of the Pester files, on HttpListener (127.0.0.1, a free port), one Add-Type for all:
# PricedServer (CostCaps, Budgets) answers every chat completion with its Content (streamed when asked) and reports a
# million prompt tokens, so each call of openai/gpt-4o-mini costs $0.15 at the shipped price map; QuotaServer
# (RateLimits) enforces requests per minute with a token bucket (429 + retry-after-ms + x-ratelimit-* headers), the way
# OpenAI does. Both count what they answered. Dot-source this file in BeforeAll.
if (-not ('LlmTasksPester.LoopbackServer' -as [type])) {
    Add-Type -TypeDefinition @'
using System;
using System.Diagnostics;
using System.Net;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
namespace LlmTasksPester {
    /// <summary>An HttpListener on 127.0.0.1 that hands each request's body to Answer, on a task of its own.</summary>
    public abstract class LoopbackServer : IDisposable {
        private readonly HttpListener _listener = new HttpListener();
        public string BaseUrl { get; }
        protected LoopbackServer(int port) {
            BaseUrl = "http://127.0.0.1:" + port + "/v1";
            _listener.Prefixes.Add("http://127.0.0.1:" + port + "/");
            _listener.Start();
            Task.Run(Loop);
        }
        private async Task Loop() {
            while (_listener.IsListening) {
                HttpListenerContext context;
                try { context = await _listener.GetContextAsync(); } catch { return; }
                _ = Task.Run(() => {
                    string request;
                    using (var reader = new System.IO.StreamReader(context.Request.InputStream)) { request = reader.ReadToEnd(); }
                    Answer(context.Response, request, request.Replace(" ", "").Contains("\"stream\":true"));
                });
            }
        }
        protected abstract void Answer(HttpListenerResponse response, string request, bool streamed);
        protected static void Write(HttpListenerResponse response, string type, string body) {
            var bytes = Encoding.UTF8.GetBytes(body);
            response.ContentType = type;
            response.ContentLength64 = bytes.Length;
            response.OutputStream.Write(bytes, 0, bytes.Length);
            response.Close();
        }
        public void Dispose() { _listener.Stop(); _listener.Close(); }
    }

    /// <summary>Answers every chat completion with Content (streamed when asked), reporting a million prompt tokens; counts the calls.</summary>
    public sealed class PricedServer : LoopbackServer {
        private int _calls;
        public string Content = "42";
        public int Calls { get { return Volatile.Read(ref _calls); } }
        public PricedServer(int port) : base(port) { }
        protected override void Answer(HttpListenerResponse response, string request, bool streamed) {
            Interlocked.Increment(ref _calls);
            const string usage = "\"usage\":{\"prompt_tokens\":1000000,\"completion_tokens\":0,\"total_tokens\":1000000}";
            const string head = "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1730000000,\"model\":\"gpt-4o-mini\",\"choices\":";
            var body = streamed
                ? head + "[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"" + Content + "\"},\"finish_reason\":null}]}\n\n"
                    + head + "[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n"
                    + head + "[]," + usage + "}\n\n" + "data: [DONE]\n\n"
                : "{\"id\":\"c1\",\"object\":\"chat.completion\",\"created\":1730000000,\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\""
                    + Content + "\"},\"finish_reason\":\"stop\"}]," + usage + "}";
            Write(response, streamed ? "text/event-stream" : "application/json", body);
        }
    }

    /// <summary>Enforces requests per minute as OpenAI does: a token bucket holding a second of the rate; past it 429.</summary>
    public sealed class QuotaServer : LoopbackServer {
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private readonly object _gate = new object();
        private readonly double _perSecond, _capacity;
        private double _level, _stamp;
        public int RequestsPerMinute { get; }
        public int Answered, RateLimited;
        public QuotaServer(int requestsPerMinute, int port) : base(port) {
            RequestsPerMinute = requestsPerMinute;
            _perSecond = requestsPerMinute / 60.0;
            _capacity = _level = Math.Max(1, _perSecond);
        }
        protected override void Answer(HttpListenerResponse response, string request, bool streamed) {
            string body;
            var type = "application/json";
            lock (_gate) {
                var now = _clock.Elapsed.TotalSeconds;
                _level = Math.Min(_capacity, _level + (now - _stamp) * _perSecond);
                _stamp = now;
                response.Headers["x-ratelimit-limit-requests"] = RequestsPerMinute.ToString();
                if (_level < 1) {
                    RateLimited++;
                    response.StatusCode = 429;
                    response.Headers["retry-after-ms"] = ((long)Math.Ceiling((1 - _level) / _perSecond * 1000)).ToString();
                    response.Headers["x-ratelimit-remaining-requests"] = "0";
                    body = "{\"error\":{\"message\":\"Rate limit reached for requests\",\"type\":\"requests\",\"param\":null,\"code\":\"rate_limit_exceeded\"}}";
                } else {
                    _level -= 1;
                    Answered++;
                    response.Headers["x-ratelimit-remaining-requests"] = ((long)_level).ToString();
                    body = streamed ? Events() : "{\"id\":\"c1\",\"object\":\"chat.completion\",\"created\":1730000000,\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"ok\"},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":1,\"total_tokens\":10}}";
                    type = streamed ? "text/event-stream" : type;
                }
            }
            Write(response, type, body);
        }
        /// <summary>The same answer as OpenAI streams it: role, text, finish reason, usage, [DONE].</summary>
        private static string Events() {
            const string head = "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1730000000,\"model\":\"gpt-4o-mini\",\"choices\":";
            return head + "[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}\n\n"
                + head + "[{\"index\":0,\"delta\":{\"content\":\"ok\"},\"finish_reason\":null}]}\n\n"
                + head + "[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n"
                + head + "[],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":1,\"total_tokens\":10}}\n\n"
                + "data: [DONE]\n\n";
        }
    }
}
'@
}

function script:Get-FreePort {
    $probe = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0)
    $probe.Start(); $port = $probe.LocalEndpoint.Port; $probe.Stop()
    $port
}

function script:New-PricedServer([string] $Content = '42') {
    $server = [LlmTasksPester.PricedServer]::new((Get-FreePort))
    $server.Content = $Content
    $server
}

function script:New-QuotaServer([int] $RequestsPerMinute) {
    [LlmTasksPester.QuotaServer]::new($RequestsPerMinute, (Get-FreePort))
}

# A loopback OpenAI-style server for the priced-task tests (CostCaps, Budgets): it answers every chat completion with
# its Content (streamed when asked) and reports a million prompt tokens, so each call of openai/gpt-4o-mini costs $0.15 at the
# shipped price map; it counts the calls. Dot-source it in BeforeAll; New-PricedServer starts one on a free loopback port.
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
    public string Content = "42";
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
    param([string] $Content = '42')
    $probe = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0)
    $probe.Start(); $port = $probe.LocalEndpoint.Port; $probe.Stop()
    $server = [LlmTasksPester.PricedServer]::new($port)
    $server.Content = $Content
    $server
}

using System.Net;
using System.Net.Sockets;
using System.Text;

namespace LlmTasks.Board.Tests;

/// <summary>Another site open in the same browser (its own loopback port, so its own origin) whose page tries to use a board's actions.</summary>
public sealed class ForeignSite : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly string _html;

    public ForeignSite(string html)
    {
        _html = html;
        using (var probe = new TcpListener(IPAddress.Loopback, 0))
        {
            probe.Start();
            Url = $"http://127.0.0.1:{((IPEndPoint)probe.LocalEndpoint).Port}/";
        }

        _listener.Prefixes.Add(Url);
        _listener.Start();
        _ = Task.Run(Serve);
    }

    public string Url { get; }

    private async Task Serve()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }

            var body = Encoding.UTF8.GetBytes(context.Request.Url!.AbsolutePath == "/" ? _html : "");
            context.Response.StatusCode = body.Length == 0 ? 404 : 200;
            context.Response.ContentType = "text/html; charset=utf-8";
            await context.Response.OutputStream.WriteAsync(body);
            context.Response.Close();
        }
    }

    public void Dispose() => _listener.Close();
}

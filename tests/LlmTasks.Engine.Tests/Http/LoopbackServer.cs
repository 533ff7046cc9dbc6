using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace LlmTasks.Tests.Http;

/// <summary>A request as it arrived on the socket.</summary>
public sealed record RecordedRequest(string Method, string Target, IReadOnlyDictionary<string, string> Headers, string Body)
{
    /// <summary>The body parsed as JSON (never compare request bodies as strings: SDKs escape differently).</summary>
    public JsonElement Json => JsonDocument.Parse(Body).RootElement.Clone();

    public string? Header(string name) => Headers.TryGetValue(name, out var value) ? value : null;
}

/// <summary>What the server does with one request.</summary>
public abstract record Reply
{
    public static Reply Json(int status, string body, params (string Name, string Value)[] headers) => new JsonReply(status, body, headers);

    /// <summary>Closes the connection with a TCP reset, without answering.</summary>
    public static Reply Reset() => new ResetReply();

    /// <summary>Sends the headers and part of a body whose Content-Length promises more, then closes.</summary>
    public static Reply Truncated(string body) => new TruncatedReply(body);

    /// <summary>Never answers (until the server is disposed).</summary>
    public static Reply Hang() => new HangReply();

    /// <summary>A body of exact bytes (invalid UTF-8, say).</summary>
    public static Reply Raw(int status, byte[] body) => new RawReply(status, body);

    /// <summary>
    /// A 200 answer of <paramref name="bytes"/> bytes (the start of a chat completion, then filler), sent in 64 KB
    /// writes until it is all sent or the client hangs up; chunked, or with its Content-Length declared up front.
    /// </summary>
    public static Reply Huge(long bytes, bool chunked) => new HugeReply(bytes, chunked);

    /// <summary>Decides the reply from the request (an error body that echoes the key it was sent, say).</summary>
    public static Reply From(Func<RecordedRequest, Reply> decide) => new ComputedReply(decide);

    /// <summary>
    /// A 200 server-sent-events answer (text/event-stream, chunked): each event written and flushed on its own, after
    /// <paramref name="gap"/>. <paramref name="cut"/>: after the events the connection closes without ending the body
    /// (the answer broke off mid-stream).
    /// </summary>
    public static Reply Stream(IEnumerable<string> events, TimeSpan? gap = null, bool cut = false) => new StreamReply(events, gap ?? TimeSpan.Zero, cut);
}

public sealed record JsonReply(int Status, string Body, (string Name, string Value)[] Headers) : Reply;
public sealed record ResetReply : Reply;
public sealed record TruncatedReply(string Body) : Reply;
public sealed record HangReply : Reply;
public sealed record RawReply(int Status, byte[] Body) : Reply;
public sealed record HugeReply(long Bytes, bool Chunked) : Reply;
public sealed record ComputedReply(Func<RecordedRequest, Reply> Decide) : Reply;
public sealed record StreamReply(IEnumerable<string> Events, TimeSpan Gap, bool Cut) : Reply
{
    /// <summary>Headers sent with the stream (a JSON reply turned into a stream keeps its own: rate-limit headers).</summary>
    public (string Name, string Value)[] Headers { get; init; } = [];
}

/// <summary>
/// A minimal HTTP/1.1 server on 127.0.0.1 (or another address of this machine) over real sockets, one request per connection
/// (it answers with Connection: close). The n-th request gets the n-th scripted reply; the last
/// reply repeats. As a real API does, it answers a request that asks for a stream ("stream": true) with the
/// scripted 200 answer as server-sent events (<see cref="RecordedResponses.AsStream"/>): a chat completion or an
/// Anthropic message becomes the events that carry the same text, usage and finish reason; other bodies go as they are.
/// </summary>
public sealed class LoopbackServer : IDisposable
{
    private readonly TcpListener _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentQueue<RecordedRequest> _requests = new();
    private Reply[] _script = [Reply.Json(200, "{}")];
    private int _count;

    public LoopbackServer()
        : this(IPAddress.Loopback)
    {
    }

    /// <param name="address">The address to listen on: another of this machine's (a veth link other network namespaces reach, say).</param>
    public LoopbackServer(IPAddress address)
    {
        _listener = new TcpListener(address, 0);
        _listener.Start();
        _ = AcceptLoop();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>http://127.0.0.1:port (or the address it listens on)</summary>
    public string Url => $"http://{((IPEndPoint)_listener.LocalEndpoint).Address}:{Port}";

    public IReadOnlyList<RecordedRequest> Requests => _requests.ToArray();

    /// <summary>Body bytes a <see cref="Reply.Huge"/> (or <see cref="Reply.Stream"/>) reply got onto the socket before the client stopped reading.</summary>
    public long HugeBytesSent => Interlocked.Read(ref _hugeBytesSent);

    private long _hugeBytesSent;

    public LoopbackServer Script(params Reply[] replies)
    {
        _script = replies;
        return this;
    }

    private async Task AcceptLoop()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await _listener.AcceptSocketAsync(_stop.Token).ConfigureAwait(false);
            }
            catch (Exception) when (_stop.IsCancellationRequested)
            {
                return;
            }

            _ = Task.Run(() => Serve(socket));
        }
    }

    private async Task Serve(Socket socket)
    {
        var stream = new NetworkStream(socket, ownsSocket: true);
        try
        {
            var request = await ReadRequest(stream).ConfigureAwait(false);
            _requests.Enqueue(request);
            var index = Interlocked.Increment(ref _count) - 1;
            var reply = _script[Math.Min(index, _script.Length - 1)];
            if (reply is ComputedReply computed)
            {
                reply = computed.Decide(request);
            }

            if (reply is JsonReply { Status: 200 } whole && Streamed(request) && RecordedResponses.AsStream(whole.Body) is { } events)
            {
                reply = (StreamReply)Reply.Stream(events) with { Headers = whole.Headers };
            }

            switch (reply)
            {
                case StreamReply sse:
                    await WriteStream(stream, sse).ConfigureAwait(false);
                    break;
                case JsonReply json:
                    await Write(stream, json.Status, Encoding.UTF8.GetBytes(json.Body), null, json.Headers).ConfigureAwait(false);
                    break;
                case TruncatedReply truncated:
                    var bytes = Encoding.UTF8.GetBytes(truncated.Body);
                    await Write(stream, 200, bytes, bytes.Length + 200, []).ConfigureAwait(false);
                    break;
                case ResetReply:
                    socket.LingerState = new LingerOption(true, 0);
                    socket.Close();
                    return;
                case HangReply:
                    await Task.Delay(Timeout.Infinite, _stop.Token).ConfigureAwait(false);
                    break;
                case RawReply raw:
                    await Write(stream, raw.Status, raw.Body, null, []).ConfigureAwait(false);
                    break;
                case HugeReply huge:
                    await WriteHuge(stream, huge).ConfigureAwait(false);
                    break;
            }
        }
        catch (Exception)
        {
            // The client went away (a timeout test, say): nothing to answer.
        }
        finally
        {
            stream.Dispose();
        }
    }

    private static async Task Write(NetworkStream stream, int status, byte[] body, int? declaredLength, (string Name, string Value)[] headers)
    {
        var head = new StringBuilder($"HTTP/1.1 {status} {Reason(status)}\r\nContent-Type: application/json\r\nContent-Length: {declaredLength ?? body.Length}\r\nConnection: close\r\n");
        foreach (var (name, value) in headers)
        {
            head.Append(name).Append(": ").Append(value).Append("\r\n");
        }

        head.Append("\r\n");
        await stream.WriteAsync(Encoding.ASCII.GetBytes(head.ToString())).ConfigureAwait(false);
        await stream.WriteAsync(body).ConfigureAwait(false);
        await stream.FlushAsync().ConfigureAwait(false);
    }

    private async Task WriteHuge(NetworkStream stream, HugeReply huge)
    {
        var head = huge.Chunked
            ? "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
            : $"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {huge.Bytes}\r\nConnection: close\r\n\r\n";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(head)).ConfigureAwait(false);
        var block = new byte[64 * 1024];
        Array.Fill(block, (byte)'a');
        var start = Encoding.ASCII.GetBytes("""{"id":"chatcmpl-1","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":" """.TrimEnd());
        start.CopyTo(block, 0);
        for (long sent = 0; sent < huge.Bytes; sent += block.Length)
        {
            var size = (int)Math.Min(block.Length, huge.Bytes - sent);
            if (huge.Chunked)
            {
                await stream.WriteAsync(Encoding.ASCII.GetBytes($"{size:x}\r\n")).ConfigureAwait(false);
            }

            await stream.WriteAsync(block.AsMemory(0, size), _stop.Token).ConfigureAwait(false);
            Interlocked.Add(ref _hugeBytesSent, size);
            if (huge.Chunked)
            {
                await stream.WriteAsync("\r\n"u8.ToArray()).ConfigureAwait(false);
            }

            Array.Fill(block, (byte)'a', 0, start.Length);
        }

        if (huge.Chunked)
        {
            await stream.WriteAsync("0\r\n\r\n"u8.ToArray()).ConfigureAwait(false);
        }
    }

    private static bool Streamed(RecordedRequest request)
    {
        try
        {
            return request.Body.Length > 0 && request.Json is { ValueKind: JsonValueKind.Object } body && body.TryGetProperty("stream", out var s) && s.ValueKind == JsonValueKind.True;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    /// <summary>Events written one chunk each, flushed, <see cref="StreamReply.Gap"/> apart; a cut stream ends without the last chunk.</summary>
    private async Task WriteStream(NetworkStream stream, StreamReply sse)
    {
        var extra = string.Concat(sse.Headers.Select(h => $"{h.Name}: {h.Value}\r\n"));
        await stream.WriteAsync(Encoding.ASCII.GetBytes($"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n{extra}\r\n")).ConfigureAwait(false);
        await stream.FlushAsync().ConfigureAwait(false);
        foreach (var e in sse.Events)
        {
            if (sse.Gap > TimeSpan.Zero)
            {
                await Task.Delay(sse.Gap, _stop.Token).ConfigureAwait(false);
            }

            var bytes = Encoding.UTF8.GetBytes(e.EndsWith("\n\n", StringComparison.Ordinal) ? e : e + "\n\n");
            await stream.WriteAsync(Encoding.ASCII.GetBytes($"{bytes.Length:x}\r\n")).ConfigureAwait(false);
            await stream.WriteAsync(bytes, _stop.Token).ConfigureAwait(false);
            await stream.WriteAsync("\r\n"u8.ToArray()).ConfigureAwait(false);
            await stream.FlushAsync().ConfigureAwait(false);
            Interlocked.Add(ref _hugeBytesSent, bytes.Length);
        }

        if (!sse.Cut)
        {
            await stream.WriteAsync("0\r\n\r\n"u8.ToArray()).ConfigureAwait(false);
            await stream.FlushAsync().ConfigureAwait(false);
        }
    }

    private static string Reason(int status) => status switch
    {
        200 => "OK",
        401 => "Unauthorized",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        529 => "Overloaded",
        _ => "Status",
    };

    private static async Task<RecordedRequest> ReadRequest(NetworkStream stream)
    {
        var head = new List<byte>();
        var one = new byte[1];
        while (head.Count < 4 || head[^4] != '\r' || head[^3] != '\n' || head[^2] != '\r' || head[^1] != '\n')
        {
            await stream.ReadExactlyAsync(one).ConfigureAwait(false);
            head.Add(one[0]);
        }

        var lines = Encoding.ASCII.GetString(head.ToArray()).Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        var first = lines[0].Split(' ');
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var line in lines.Skip(1))
        {
            var colon = line.IndexOf(':');
            headers[line[..colon].Trim()] = line[(colon + 1)..].Trim();
        }

        var body = new MemoryStream();
        if (headers.TryGetValue("Content-Length", out var length))
        {
            var buffer = new byte[int.Parse(length, System.Globalization.CultureInfo.InvariantCulture)];
            await stream.ReadExactlyAsync(buffer).ConfigureAwait(false);
            body.Write(buffer);
        }
        else if (headers.TryGetValue("Transfer-Encoding", out var encoding) && encoding.Contains("chunked", StringComparison.OrdinalIgnoreCase))
        {
            while (true)
            {
                var size = Convert.ToInt32((await ReadLine(stream).ConfigureAwait(false)).Split(';')[0], 16);
                if (size == 0)
                {
                    await ReadLine(stream).ConfigureAwait(false);
                    break;
                }

                var buffer = new byte[size];
                await stream.ReadExactlyAsync(buffer).ConfigureAwait(false);
                body.Write(buffer);
                await ReadLine(stream).ConfigureAwait(false);
            }
        }

        return new RecordedRequest(first[0], first[1], headers, Encoding.UTF8.GetString(body.ToArray()));
    }

    private static async Task<string> ReadLine(NetworkStream stream)
    {
        var text = new StringBuilder();
        var one = new byte[1];
        while (true)
        {
            await stream.ReadExactlyAsync(one).ConfigureAwait(false);
            if (one[0] == '\n')
            {
                return text.ToString().TrimEnd('\r');
            }

            text.Append((char)one[0]);
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Stop();
    }
}

using System.Collections.Concurrent;
using System.IO.Compression;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace LlmTasks.PowerShell.Tests.Telemetry;

/// <summary>
/// An OTLP/HTTP (protobuf) collector on 127.0.0.1: it keeps every export request's body by signal (/v1/traces,
/// /v1/metrics, /v1/logs) and answers 200 with an empty response, as a collector does. The bodies are read with
/// <see cref="Protobuf"/> (the OTLP messages are plain protobuf: names and attributes are strings on the wire).
/// </summary>
internal sealed class OtlpReceiver : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly ConcurrentQueue<(string Path, byte[] Body)> _received = new();
    private readonly Task _loop;

    public OtlpReceiver()
    {
        Port = FreePort();
        _listener.Prefixes.Add($"http://127.0.0.1:{Port}/");
        _listener.Start();
        _loop = Task.Run(Loop);
    }

    public int Port { get; }

    public string Endpoint => $"http://127.0.0.1:{Port}";

    public IReadOnlyList<byte[]> Bodies(string signal) => _received.Where(r => r.Path == "/v1/" + signal).Select(r => r.Body).ToList();

    /// <summary>Whether any body of any signal holds this text (UTF-8), as protobuf carries strings.</summary>
    public bool AnyContains(string text)
    {
        var needle = Encoding.UTF8.GetBytes(text);
        return _received.Any(r => r.Body.AsSpan().IndexOf(needle) >= 0);
    }

    public IReadOnlyList<string> Paths => _received.Select(r => r.Path).ToList();

    private async Task Loop()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync().ConfigureAwait(false);
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }

            try
            {
                using var body = new MemoryStream();
                Stream input = context.Request.InputStream;
                if (string.Equals(context.Request.Headers["Content-Encoding"], "gzip", StringComparison.OrdinalIgnoreCase))
                {
                    input = new GZipStream(input, CompressionMode.Decompress);
                }

                await input.CopyToAsync(body).ConfigureAwait(false);
                _received.Enqueue((context.Request.Url!.AbsolutePath, body.ToArray()));
                context.Response.StatusCode = 200;
                context.Response.ContentType = "application/x-protobuf";
                context.Response.ContentLength64 = 0;
                context.Response.Close();
            }
            catch (Exception e) when (e is HttpListenerException or IOException)
            {
                // The exporter went away mid-request: nothing to keep.
            }
        }
    }

    private static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    public void Dispose()
    {
        _listener.Stop();
        _listener.Close();
        _loop.Wait(TimeSpan.FromSeconds(5));
    }
}

/// <summary>Just enough protobuf to read OTLP export requests: fields by number, nested messages, strings, varints.</summary>
internal sealed class Protobuf
{
    private readonly List<(int Field, ulong Number, byte[]? Bytes)> _fields = [];

    public Protobuf(ReadOnlySpan<byte> data)
    {
        var at = 0;
        while (at < data.Length)
        {
            var key = Varint(data, ref at);
            var field = (int)(key >> 3);
            switch ((int)(key & 7))
            {
                case 0:
                    _fields.Add((field, Varint(data, ref at), null));
                    break;
                case 1:
                    _fields.Add((field, BitConverter.ToUInt64(data.Slice(at, 8)), null));
                    at += 8;
                    break;
                case 2:
                    var length = (int)Varint(data, ref at);
                    _fields.Add((field, 0, data.Slice(at, length).ToArray()));
                    at += length;
                    break;
                case 5:
                    _fields.Add((field, BitConverter.ToUInt32(data.Slice(at, 4)), null));
                    at += 4;
                    break;
                default:
                    throw new InvalidDataException($"wire type {key & 7} at {at}");
            }
        }
    }

    public IEnumerable<Protobuf> Messages(int field) => _fields.Where(f => f.Field == field && f.Bytes is not null).Select(f => new Protobuf(f.Bytes));

    public Protobuf? Message(int field) => Messages(field).FirstOrDefault();

    public string? String(int field) => _fields.Where(f => f.Field == field && f.Bytes is not null).Select(f => Encoding.UTF8.GetString(f.Bytes!)).FirstOrDefault();

    public ulong? Number(int field) => _fields.Where(f => f.Field == field && f.Bytes is null).Select(f => (ulong?)f.Number).FirstOrDefault();

    private static ulong Varint(ReadOnlySpan<byte> data, ref int at)
    {
        ulong value = 0;
        for (var shift = 0; ; shift += 7)
        {
            var b = data[at++];
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                return value;
            }
        }
    }

    /// <summary>An OTLP KeyValue list (attributes) as text: strings as they are, ints and bools as numbers, doubles by bits.</summary>
    public static Dictionary<string, string> Attributes(IEnumerable<Protobuf> keyValues)
    {
        var attributes = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var kv in keyValues)
        {
            var value = kv.Message(2);
            attributes[kv.String(1) ?? string.Empty] = value?.String(1)
                ?? (value?.Number(3) is { } i ? ((long)i).ToString(System.Globalization.CultureInfo.InvariantCulture)
                : value?.Number(2) is { } b ? (b != 0 ? "true" : "false")
                : value?.Number(4) is { } d ? BitConverter.UInt64BitsToDouble(d).ToString(System.Globalization.CultureInfo.InvariantCulture)
                : string.Empty);
        }

        return attributes;
    }
}

/// <summary>A span as exported: its name, attributes, status message and the resource's attributes.</summary>
internal sealed record ExportedSpan(string Name, IReadOnlyDictionary<string, string> Attributes, string? StatusMessage, IReadOnlyDictionary<string, string> Resource)
{
    /// <summary>Every span of a set of ExportTraceServiceRequest bodies (resource_spans 1 → scope_spans 2 → spans 2).</summary>
    public static List<ExportedSpan> Read(IEnumerable<byte[]> bodies) =>
    [
        .. from body in bodies
           from resourceSpans in new Protobuf(body).Messages(1)
           let resource = Protobuf.Attributes(resourceSpans.Message(1)?.Messages(1) ?? [])
           from scopeSpans in resourceSpans.Messages(2)
           from span in scopeSpans.Messages(2)
           select new ExportedSpan(span.String(5) ?? string.Empty, Protobuf.Attributes(span.Messages(9)), span.Message(15)?.String(2), resource),
    ];
}

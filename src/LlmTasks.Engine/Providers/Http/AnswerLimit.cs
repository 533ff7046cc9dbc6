using System.Net;

namespace LlmTasks.Providers.Http;

/// <summary>
/// The handler under every HTTP provider's SDK client. It caps the size of an answer while it is read (a
/// declared Content-Length over the cap fails before the body is read; a chunked body fails at the first
/// byte past it), so no SDK ever buffers more than the cap: memory stays bounded whatever a server sends.
/// It also notes the status of each response in the calling flow's <see cref="HttpExchange"/>, so that a
/// failure while reading a 200 answer can be told from a failure to get one.
/// <para>
/// A streamed answer (text/event-stream) is capped the same way, on what it holds: its text may be at most the cap
/// (<see cref="StreamedText"/>, counted by the provider's adapter as the pieces arrive), and its bytes, framing
/// included (an event per token is mostly JSON around a few characters), at most <see cref="StreamFraming"/> times
/// the cap. Either fails as ResponseTooLarge while it is read, and is not retried.
/// </para>
/// </summary>
internal sealed class AnswerLimit(long maxBytes) : DelegatingHandler
{
    /// <summary>How many times the cap an event stream may be in bytes, its framing included.</summary>
    public const int StreamFraming = 64;

    /// <summary>Set by the provider's adapter for the duration of one call (an AsyncLocal flows into the SDK, the box flows back).</summary>
    public static readonly AsyncLocal<HttpExchange?> Current = new();

    public long MaxBytes { get; } = maxBytes;

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<long, Lazy<System.ClientModel.Primitives.HttpClientPipelineTransport>> Transports = new();

    /// <summary>
    /// The transport the OpenAI and Azure SDK clients share for this cap: one pooled HttpClient for the process (as the
    /// SDKs' own default transport is), so connections are reused across clients, cmdlet calls and providers.
    /// </summary>
    public static System.ClientModel.Primitives.HttpClientPipelineTransport SharedTransport(long maxBytes) =>
        Transports.GetOrAdd(maxBytes, max => new Lazy<System.ClientModel.Primitives.HttpClientPipelineTransport>(() => new(Client(max)))).Value;

    /// <summary>An HttpClient for an SDK: this handler over a pooled socket handler, no client-side timeout (the SDK and the engine time calls).</summary>
    public static HttpClient Client(long maxBytes) => new(new AnswerLimit(maxBytes)
    {
        InnerHandler = new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            UseCookies = false,
            AutomaticDecompression = DecompressionMethods.None, // the cap counts the bytes that are read
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
        },
    })
    {
        Timeout = System.Threading.Timeout.InfiniteTimeSpan,
    };

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        var mediaType = response.Content.Headers.ContentType?.MediaType;
        if (Current.Value is { } exchange)
        {
            exchange.Status = (int)response.StatusCode;
            exchange.MediaType = mediaType;
        }

        RateLimitHeaders.Note(response); // the pacing decorator reads what the headers say of the quota, on the call's clock

        var max = string.Equals(mediaType, "text/event-stream", StringComparison.OrdinalIgnoreCase) ? MaxBytes * StreamFraming : MaxBytes;
        if (response.Content.Headers.ContentLength is { } declared && declared > max)
        {
            response.Dispose();
            throw new AnswerTooLargeException(MaxBytes, declared);
        }

        response.Content = new CappedContent(response.Content, max, MaxBytes);
        return response;
    }

    /// <summary>The answer's body, read through a stream that counts.</summary>
    private sealed class CappedContent : HttpContent
    {
        private readonly HttpContent _inner;
        private readonly long _max;
        private readonly long _cap;

        public CappedContent(HttpContent inner, long max, long cap)
        {
            _inner = inner;
            _max = max;
            _cap = cap;
            foreach (var header in inner.Headers)
            {
                Headers.TryAddWithoutValidation(header.Key, header.Value);
            }
        }

        protected override async Task<Stream> CreateContentReadStreamAsync() => new CappedStream(await _inner.ReadAsStreamAsync().ConfigureAwait(false), _max, _cap);

        protected override async Task<Stream> CreateContentReadStreamAsync(CancellationToken cancellationToken) =>
            new CappedStream(await _inner.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false), _max, _cap);

        protected override Stream CreateContentReadStream(CancellationToken cancellationToken) => new CappedStream(_inner.ReadAsStream(cancellationToken), _max, _cap);

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
            await (await CreateContentReadStreamAsync().ConfigureAwait(false)).CopyToAsync(stream).ConfigureAwait(false);

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken) =>
            await (await CreateContentReadStreamAsync(cancellationToken).ConfigureAwait(false)).CopyToAsync(stream, cancellationToken).ConfigureAwait(false);

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _inner.Dispose();
            }

            base.Dispose(disposing);
        }
    }

    private sealed class CappedStream(Stream inner, long max, long cap) : Stream
    {
        private long _read;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => _read; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Count(inner.Read(buffer, offset, count));

        public override int Read(Span<byte> buffer) => Count(inner.Read(buffer));

        public override async Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            Count(await inner.ReadAsync(buffer.AsMemory(offset, count), cancellationToken).ConfigureAwait(false));

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            Count(await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false));

        private int Count(int n)
        {
            _read += n;
            return _read > max ? throw new AnswerTooLargeException(cap, null, streamed: max != cap) : n;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}

/// <summary>What the handler saw of one call's HTTP exchange.</summary>
internal sealed class HttpExchange
{
    public int? Status { get; set; }

    /// <summary>The answer's Content-Type media type (text/event-stream for a stream).</summary>
    public string? MediaType { get; set; }

    public bool Succeeded => Status is >= 200 and < 300;

    public bool IsEventStream => string.Equals(MediaType, "text/event-stream", StringComparison.OrdinalIgnoreCase);
}

/// <summary>Counts a streamed answer's text against the cap as its pieces arrive (the adapters of the streaming providers use it).</summary>
internal sealed class StreamedText(long maxBytes)
{
    private long _bytes;

    /// <summary>Adds a piece; past the cap, the answer fails as ResponseTooLarge (the stream is not read further).</summary>
    public void Add(string? piece)
    {
        if (piece is { Length: > 0 })
        {
            _bytes += System.Text.Encoding.UTF8.GetByteCount(piece);
            if (_bytes > maxBytes)
            {
                throw new AnswerTooLargeException(maxBytes, null, streamed: true);
            }
        }
    }
}

/// <summary>
/// An answer larger than the cap ($env:LLMTASKS_MAX_ANSWER_MB): ErrorKind ResponseTooLarge, not retried (the same
/// request would get the same answer). An IOException, so that SDKs treat it as the failed read it is.
/// </summary>
public sealed class AnswerTooLargeException(long max, long? declared, bool streamed = false) : IOException(
    $"The {(streamed ? "streamed " : string.Empty)}answer is larger than the {AnswerSizes.Describe(max)} limit{(declared is { } d ? $" (it declared {AnswerSizes.Describe(d)})" : string.Empty)}: " +
    $"it was not read further. Raise ${ProviderEnvironment.MaxAnswerVariable} (in MB) if such answers are expected.")
{
    public long MaxBytes { get; } = max;
}

internal static class AnswerSizes
{
    public static string Describe(long bytes) => bytes >= 1024 * 1024 && bytes % (1024 * 1024) == 0
        ? $"{bytes / (1024 * 1024)} MB"
        : bytes >= 1024 * 1024 ? $"{bytes / (1024.0 * 1024):0.#} MB" : $"{bytes} bytes";
}

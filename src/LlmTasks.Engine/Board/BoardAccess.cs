using System.Net;
using System.Security.Cryptography;
using System.Text;

namespace LlmTasks.Board;

/// <summary>
/// Who may use a board. Only this machine (it listens on 127.0.0.1), only through its own name (a foreign Host header,
/// as a DNS-rebinding page sends, gets 421), and only with the run's random token: the link carries it once, and the
/// board swaps it for an HttpOnly, SameSite=Strict cookie so it leaves the address bar. A change (an action) also
/// needs the board's own header and an Origin of the board itself, which no other site's page can send.
/// </summary>
internal sealed class BoardAccess
{
    public const string ActionHeader = "X-LlmTasks-Board";
    private readonly byte[] _token;

    public BoardAccess(int port)
    {
        Port = port;
        Token = Base64Url(RandomNumberGenerator.GetBytes(24)); // 192 bits; 32 characters, so the URL fits an 80-column table
        _token = Encoding.ASCII.GetBytes(Token);
        // Cookies are not kept per port: each board's has its own name, so two boards on one machine do not clobber each other's.
        CookieName = $"llmtasks-board-{port}";
    }

    public int Port { get; }

    public string Token { get; }

    public string CookieName { get; }

    public string Origin => $"http://127.0.0.1:{Port}";

    /// <summary>Whether the request names this board as its host (127.0.0.1 or localhost, this port).</summary>
    public bool IsOwnHost(HttpListenerRequest request) => IsOwn(request.Headers["Host"], prefix: "");

    /// <summary>Whether the token came in the address (to be swapped for the cookie).</summary>
    public bool HasTokenInQuery(HttpListenerRequest request) => Matches(request.QueryString["token"]);

    /// <summary>Whether the request carries the board's cookie.</summary>
    public bool HasCookie(HttpListenerRequest request) => Matches(request.Cookies[CookieName]?.Value);

    /// <summary>Whether a change request came from the board's own page: its header, and its own origin.</summary>
    public bool IsOwnPage(HttpListenerRequest request) =>
        request.Headers[ActionHeader] == "1" && IsOwn(request.Headers["Origin"], prefix: "http://")
        && request.Headers["Sec-Fetch-Site"] is null or "same-origin";

    public string SetCookie() => $"{CookieName}={Token}; Path=/; HttpOnly; SameSite=Strict";

    private bool IsOwn(string? value, string prefix) =>
        value is not null && (value.Equals($"{prefix}127.0.0.1:{Port}", StringComparison.OrdinalIgnoreCase)
                              || value.Equals($"{prefix}localhost:{Port}", StringComparison.OrdinalIgnoreCase));

    private bool Matches(string? candidate) =>
        candidate is not null && CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(candidate), _token);

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}

using System.Net;
using LlmTasks.Board;

namespace LlmTasks.Tests.Board;

/// <summary>An HTTP client for a running board that keeps its cookie, as a browser does, but follows no redirect on its own.</summary>
internal sealed class BoardClient : IDisposable
{
    private readonly HttpClient _http;

    public BoardClient(TaskBoard board)
    {
        Board = board;
        Cookies = new CookieContainer();
        _http = new HttpClient(new HttpClientHandler { CookieContainer = Cookies, AllowAutoRedirect = false }) { BaseAddress = new Uri($"http://127.0.0.1:{board.Port}/") };
    }

    public TaskBoard Board { get; }

    public CookieContainer Cookies { get; }

    /// <summary>Opens the board's link (with its token), as a person does first: the board answers with its cookie.</summary>
    public async Task<HttpResponseMessage> SignIn() => await _http.GetAsync(new Uri(Board.Url));

    public Task<HttpResponseMessage> Get(string path, Action<HttpRequestMessage>? change = null) => Send(HttpMethod.Get, path, change);

    public Task<HttpResponseMessage> Post(string path, Action<HttpRequestMessage>? change = null) => Send(HttpMethod.Post, path, change);

    public async Task<string> Html(string path)
    {
        using var response = await Get(path);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadAsStringAsync();
    }

    /// <summary>A POST as the board's own page sends it: its header and its origin.</summary>
    public Task<HttpResponseMessage> Action(string path) => Post(path, r =>
    {
        r.Headers.Add("X-LlmTasks-Board", "1");
        r.Headers.Add("Origin", $"http://127.0.0.1:{Board.Port}");
    });

    private async Task<HttpResponseMessage> Send(HttpMethod method, string path, Action<HttpRequestMessage>? change)
    {
        var request = new HttpRequestMessage(method, path);
        change?.Invoke(request);
        return await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
    }

    public void Dispose() => _http.Dispose();
}

using System.Net;
using System.Reflection;
using System.Text;
using System.Text.Json;

namespace LlmTasks.Board;

/// <summary>
/// Answers one board's requests: the access rules first (<see cref="BoardAccess"/>), then the pages, the event stream,
/// the actions and the two assets. Every response forbids caching, framing and any script but the board's own.
/// </summary>
internal sealed class BoardServer(BoardContext board, BoardAccess access, BoardChanges changes)
{
    private const string Security = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

    public async Task Handle(HttpListenerContext context)
    {
        var request = context.Request;
        var response = context.Response;
        response.Headers["Content-Security-Policy"] = Security;
        response.Headers["X-Content-Type-Options"] = "nosniff";
        response.Headers["Referrer-Policy"] = "no-referrer";
        response.Headers["Cache-Control"] = "no-store";
        try
        {
            if (!access.IsOwnHost(request))
            {
                // A page on another site that resolved its own name to 127.0.0.1 (DNS rebinding) sends its name here.
                await Text(response, 421, "This board answers only to http://127.0.0.1:" + access.Port + "/.").ConfigureAwait(false);
                return;
            }

            if (access.HasTokenInQuery(request))
            {
                response.Headers["Set-Cookie"] = access.SetCookie();
                response.Redirect(WithoutToken(request.Url!));
                response.StatusCode = 303;
                response.Close();
                return;
            }

            if (!access.HasCookie(request))
            {
                await Text(response, 403, "This task board needs its link with the token: run Get-LlmTaskBoard in the PowerShell session that started it, and open its Url.").ConfigureAwait(false);
                return;
            }

            await Route(request, response).ConfigureAwait(false);
        }
        catch (HttpListenerException)
        {
            // the browser went away mid-answer
        }
        catch (Exception e) when (e is LlmTasksException or InvalidOperationException or IOException)
        {
            await TryText(response, 500, "The board could not read the store: " + e.Message).ConfigureAwait(false);
        }
    }

    private async Task Route(HttpListenerRequest request, HttpListenerResponse response)
    {
        var path = request.Url!.AbsolutePath.TrimEnd('/');
        var segments = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        if (request.HttpMethod == "POST")
        {
            await Action(request, response, segments).ConfigureAwait(false);
            return;
        }

        if (request.HttpMethod is not ("GET" or "HEAD"))
        {
            await Text(response, 405, "The board answers GET, and POST for its actions.").ConfigureAwait(false);
            return;
        }

        switch (segments)
        {
            case []:
                await Page(request, response, OverviewPage.Render(board)).ConfigureAwait(false);
                break;
            case ["tasks"]:
                await Page(request, response, TaskListPage.Render(board, request.QueryString)).ConfigureAwait(false);
                break;
            case ["tasks", var idText] when long.TryParse(idText, out var id):
                await Page(request, response, TaskDetailPage.Render(board, id)).ConfigureAwait(false);
                break;
            case ["plots"]:
                await Page(request, response, PlotsPage.Render(board)).ConfigureAwait(false);
                break;
            case ["events"]:
                await Events(response).ConfigureAwait(false);
                break;
            case ["assets", "board.css"]:
                await Asset(response, "board.css", "text/css; charset=utf-8").ConfigureAwait(false);
                break;
            case ["assets", "board.js"]:
                await Asset(response, "board.js", "text/javascript; charset=utf-8").ConfigureAwait(false);
                break;
            case ["favicon.ico"]:
                response.StatusCode = 204;
                response.Close();
                break;
            default:
                await Text(response, 404, $"The board has no page '{path}'.").ConfigureAwait(false);
                break;
        }
    }

    private async Task Action(HttpListenerRequest request, HttpListenerResponse response, string[] segments)
    {
        if (!board.Options.AllowActions)
        {
            await Json(response, 403, new { message = "This board is read-only: start it with Start-LlmTaskBoard -AllowActions to stop, restart, approve or remove tasks from it." }).ConfigureAwait(false);
            return;
        }

        if (!access.IsOwnPage(request))
        {
            await Json(response, 403, new { message = "Actions are taken only from the board's own pages." }).ConfigureAwait(false);
            return;
        }

        if (segments is not ["tasks", var idText, var action] || !long.TryParse(idText, out var id))
        {
            await Json(response, 404, new { message = "The board's actions are POST /tasks/{id}/stop, restart, approve or remove." }).ConfigureAwait(false);
            return;
        }

        var outcome = BoardActions.Run(board, id, action);
        await Json(response, outcome.Status, new { message = outcome.Message, redirect = outcome.Redirect }).ConfigureAwait(false);
    }

    private async Task Page(HttpListenerRequest request, HttpListenerResponse response, BoardPage page)
    {
        var fragment = request.Headers["X-LlmTasks-Fragment"] == "1";
        var html = fragment ? page.Live : page.Document(board.Store.Path, changes.Current, board.Options.AllowActions);
        await Send(response, page.Status, "text/html; charset=utf-8", Encoding.UTF8.GetBytes(html)).ConfigureAwait(false);
    }

    /// <summary>Server-sent events: the store's stamp now, then each time it changes, until the page or the board goes.</summary>
    private async Task Events(HttpListenerResponse response)
    {
        response.StatusCode = 200;
        response.ContentType = "text/event-stream; charset=utf-8";
        response.SendChunked = true;
        var output = response.OutputStream;
        var stamp = changes.Current;
        try
        {
            await Write(output, $"retry: 2000\ndata: {stamp}\n\n").ConfigureAwait(false);
            while (!changes.Stopping.IsCancellationRequested)
            {
                using var heartbeat = CancellationTokenSource.CreateLinkedTokenSource(changes.Stopping);
                heartbeat.CancelAfter(TimeSpan.FromSeconds(15));
                try
                {
                    stamp = await changes.Next(stamp, heartbeat.Token).ConfigureAwait(false);
                    await Write(output, $"data: {stamp}\n\n").ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!changes.Stopping.IsCancellationRequested)
                {
                    await Write(output, ": still here\n\n").ConfigureAwait(false); // a comment: finds a page that went away
                }
            }
        }
        catch (Exception e) when (e is HttpListenerException or IOException or ObjectDisposedException or OperationCanceledException)
        {
            // the page closed, or the board stopped
        }
        finally
        {
            try
            {
                response.Close();
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
            }
        }
    }

    private static async Task Write(Stream output, string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        await output.WriteAsync(bytes).ConfigureAwait(false);
        await output.FlushAsync().ConfigureAwait(false);
    }

    private static async Task Asset(HttpListenerResponse response, string name, string type)
    {
        await using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("LlmTasks.Board." + name)
                                 ?? throw new InvalidOperationException($"The board's {name} is missing from the engine.");
        using var copy = new MemoryStream();
        await stream.CopyToAsync(copy).ConfigureAwait(false);
        await Send(response, 200, type, copy.ToArray()).ConfigureAwait(false);
    }

    private static Task Json(HttpListenerResponse response, int status, object body) =>
        Send(response, status, "application/json; charset=utf-8", JsonSerializer.SerializeToUtf8Bytes(body));

    private static Task Text(HttpListenerResponse response, int status, string text) =>
        Send(response, status, "text/plain; charset=utf-8", Encoding.UTF8.GetBytes(text));

    private static async Task TryText(HttpListenerResponse response, int status, string text)
    {
        try
        {
            await Text(response, status, text).ConfigureAwait(false);
        }
        catch (Exception e) when (e is HttpListenerException or InvalidOperationException or ObjectDisposedException)
        {
        }
    }

    private static async Task Send(HttpListenerResponse response, int status, string type, byte[] body)
    {
        response.StatusCode = status;
        response.ContentType = type;
        response.ContentLength64 = body.Length;
        await response.OutputStream.WriteAsync(body).ConfigureAwait(false);
        response.Close();
    }

    private static string WithoutToken(Uri url)
    {
        var query = System.Web.HttpUtility.ParseQueryString(url.Query);
        query.Remove("token");
        var rest = query.ToString();
        return url.AbsolutePath + (string.IsNullOrEmpty(rest) ? "" : "?" + rest);
    }
}

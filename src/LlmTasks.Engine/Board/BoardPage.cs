using System.Text;
using static LlmTasks.Board.Html;

namespace LlmTasks.Board;

/// <summary>
/// One rendered page: <see cref="Fixed"/> stays as loaded (the filter form), <see cref="Live"/> is what a change in the
/// store replaces (fetched again with the X-LlmTasks-Fragment header).
/// </summary>
internal sealed record BoardPage(string Title, string Section, string Live)
{
    public string Fixed { get; init; } = "";

    public int Status { get; init; } = 200;

    public string Document(string storePath, string stamp, bool allowActions) => new StringBuilder()
        .Append("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">")
        .Append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">")
        .Append("<title>").Append(E(Title)).Append(" · LlmTasks board</title>")
        .Append("<link rel=\"stylesheet\" href=\"/assets/board.css\"><script src=\"/assets/board.js\" defer></script></head>")
        .Append("<body data-stamp=\"").Append(E(stamp)).Append("\">")
        .Append("<header><a class=\"brand\" href=\"/\">LlmTasks</a>")
        .Append(Nav("/", "Board")).Append(Nav("/tasks", "Tasks")).Append(Nav("/plots", "Plots"))
        .Append("<span class=\"store\" title=\"The task store\">").Append(E(storePath))
        .Append(allowActions ? " · actions allowed" : " · read-only").Append("</span></header>")
        .Append("<main>").Append(Fixed).Append("<div id=\"live\">").Append(Live).Append("</div></main>")
        .Append("<div id=\"notice\" class=\"notice\" role=\"status\" aria-live=\"polite\"></div>")
        .Append("</body></html>")
        .ToString();

    private string Nav(string href, string text) => Section == href
        ? $"<a class=\"here\" href=\"{href}\" aria-current=\"page\">{text}</a>"
        : $"<a href=\"{href}\">{text}</a>";
}

using System.Globalization;
using System.Net;
using System.Text;

namespace LlmTasks.Board;

/// <summary>Small HTML-writing helpers: every text that came from the store goes through <see cref="E"/>.</summary>
internal static class Html
{
    public static string E(string? text) => WebUtility.HtmlEncode(text ?? string.Empty);

    public static string A(string href, string text, string? cssClass = null) =>
        $"<a href=\"{E(href)}\"{(cssClass is null ? "" : $" class=\"{cssClass}\"")}>{E(text)}</a>";

    public static string Time(DateTime? instant) => instant is { } t
        ? $"<time datetime=\"{t.ToUniversalTime():yyyy-MM-ddTHH:mm:ss.fffZ}\">{t.ToLocalTime().ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture)}</time>"
        : "";

    public static string Seconds(TimeSpan? span) => span is { } s ? Seconds(s.TotalSeconds) : "";

    public static string Seconds(double? seconds) => seconds switch
    {
        null => "",
        < 1 => (seconds.Value * 1000).ToString("0", CultureInfo.InvariantCulture) + " ms",
        < 100 => $"{seconds.Value.ToString("0.00", CultureInfo.InvariantCulture)} s",
        _ => $"{seconds.Value.ToString("0", CultureInfo.InvariantCulture)} s",
    };

    public static string Cost(decimal? usd) => usd is { } c ? "$" + c.ToString(c < 0.01m ? "0.000000" : "0.0000", CultureInfo.InvariantCulture) : "";

    public static string Int(long? n) => n is { } v ? v.ToString("#,0", CultureInfo.InvariantCulture) : "";

    public static string State(LlmTaskState state) => $"<span class=\"state {state.ToString().ToLowerInvariant()}\">{state}</span>";

    /// <summary>At most <paramref name="max"/> characters of a text, on one line.</summary>
    public static string Short(string? text, int max = 120)
    {
        if (string.IsNullOrEmpty(text))
        {
            return "";
        }

        var line = text.ReplaceLineEndings(" ");
        return E(line.Length <= max ? line : line[..max] + "…");
    }

    /// <summary>A two-column table of facts, leaving out the empty ones.</summary>
    public static string Facts(params (string Label, string Html)[] rows)
    {
        var sb = new StringBuilder("<table class=\"facts\">");
        foreach (var (label, html) in rows.Where(r => !string.IsNullOrEmpty(r.Html)))
        {
            sb.Append("<tr><th>").Append(E(label)).Append("</th><td>").Append(html).Append("</td></tr>");
        }

        return sb.Append("</table>").ToString();
    }

    public static string Pre(string? text, string? cssClass = null) =>
        $"<pre{(cssClass is null ? "" : $" class=\"{cssClass}\"")}>{E(text)}</pre>";
}

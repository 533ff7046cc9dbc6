using System.Globalization;
using System.Text;
using static LlmTasks.Board.Html;

namespace LlmTasks.Board;

/// <summary>One named row of values in a chart, in its colour.</summary>
internal sealed record Series(string Name, string Color, double[] Values);

/// <summary>
/// Charts drawn on the server as SVG: bars (stacked or side by side), horizontal bars per row, and lines. No script and no
/// chart library: the page stays within its Content-Security-Policy and a screenshot shows what the store held.
/// </summary>
internal static class SvgChart
{
    private const double Width = 560, Height = 230, Left = 56, Right = 12, Top = 26, Bottom = 34;

    public static string Bars(string title, IReadOnlyList<string> labels, IReadOnlyList<Series> series, bool stacked, Func<double, string> format)
    {
        var max = labels.Count == 0 ? 0 : Enumerable.Range(0, labels.Count)
            .Max(i => stacked ? series.Sum(s => s.Values[i]) : series.Max(s => s.Values[i]));
        var (top, sb) = Frame(title, max, format);
        var plotWidth = Width - Left - Right;
        var slot = labels.Count == 0 ? 0 : plotWidth / labels.Count;
        for (var i = 0; i < labels.Count; i++)
        {
            var x = Left + i * slot;
            var baseY = Height - Bottom;
            var barWidth = stacked ? slot * 0.8 : slot * 0.8 / series.Count;
            for (var s = 0; s < series.Count; s++)
            {
                var value = series[s].Values[i];
                var h = top == 0 ? 0 : value / top * (Height - Top - Bottom);
                var bx = stacked ? x + slot * 0.1 : x + slot * 0.1 + s * barWidth;
                var by = baseY - h;
                if (h > 0)
                {
                    sb.Append($"<rect x=\"{N(bx)}\" y=\"{N(by)}\" width=\"{N(Math.Max(1, barWidth))}\" height=\"{N(h)}\" fill=\"{series[s].Color}\">")
                      .Append($"<title>{E(labels[i])} · {E(series[s].Name)}: {E(format(value))}</title></rect>");
                }

                if (stacked)
                {
                    baseY = by;
                }
            }
        }

        XLabels(sb, labels, slot);
        return Close(sb, series);
    }

    public static string Lines(string title, IReadOnlyList<string> labels, IReadOnlyList<Series> series, Func<double, string> format)
    {
        var max = series.SelectMany(s => s.Values).DefaultIfEmpty(0).Max();
        var (top, sb) = Frame(title, max, format);
        var plotWidth = Width - Left - Right;
        var step = labels.Count <= 1 ? 0 : plotWidth / (labels.Count - 1);
        foreach (var s in series)
        {
            var points = string.Join(' ', s.Values.Select((v, i) =>
                $"{N(Left + i * step)},{N(Height - Bottom - (top == 0 ? 0 : v / top * (Height - Top - Bottom)))}"));
            sb.Append($"<polyline fill=\"none\" stroke=\"{s.Color}\" stroke-width=\"2\" points=\"{points}\"><title>{E(s.Name)}</title></polyline>");
        }

        XLabels(sb, labels, step, centred: false);
        return Close(sb, series);
    }

    /// <summary>Horizontal bars: one group per row (a model), one bar per series.</summary>
    public static string RowBars(string title, IReadOnlyList<string> rows, IReadOnlyList<Series> series, Func<double, string> format)
    {
        const double labelWidth = 170, barHeight = 12, gap = 10;
        var height = Top + rows.Count * (series.Count * barHeight + gap) + 24;
        var max = series.SelectMany(s => s.Values).DefaultIfEmpty(0).Max();
        var sb = Open(title, height);
        var plotWidth = Width - labelWidth - Right - 60;
        for (var r = 0; r < rows.Count; r++)
        {
            var y = Top + r * (series.Count * barHeight + gap);
            sb.Append($"<text x=\"{N(labelWidth - 6)}\" y=\"{N(y + series.Count * barHeight / 2 + 4)}\" text-anchor=\"end\">{E(Clip(rows[r], 28))}</text>");
            for (var s = 0; s < series.Count; s++)
            {
                var value = series[s].Values[r];
                var w = max == 0 ? 0 : value / max * plotWidth;
                var by = y + s * barHeight;
                sb.Append($"<rect x=\"{N(labelWidth)}\" y=\"{N(by)}\" width=\"{N(Math.Max(w, value > 0 ? 1 : 0))}\" height=\"{N(barHeight - 2)}\" fill=\"{series[s].Color}\">")
                  .Append($"<title>{E(rows[r])} · {E(series[s].Name)}: {E(format(value))}</title></rect>")
                  .Append($"<text x=\"{N(labelWidth + w + 4)}\" y=\"{N(by + barHeight - 3)}\">{E(format(value))}</text>");
            }
        }

        sb.Append($"<g transform=\"translate(0,{N(height - 18)})\">");
        return Close(sb, series, inGroup: true);
    }

    private static (double Top, StringBuilder Sb) Frame(string title, double max, Func<double, string> format)
    {
        var top = NiceTop(max);
        var sb = Open(title, Height);
        for (var i = 0; i <= 4; i++)
        {
            var value = top * i / 4;
            var y = Height - Bottom - (Height - Top - Bottom) * i / 4;
            sb.Append($"<line x1=\"{N(Left)}\" x2=\"{N(Width - Right)}\" y1=\"{N(y)}\" y2=\"{N(y)}\" stroke=\"#e3e7ec\"/>")
              .Append($"<text x=\"{N(Left - 6)}\" y=\"{N(y + 4)}\" text-anchor=\"end\">{E(format(value))}</text>");
        }

        return (top, sb);
    }

    private static StringBuilder Open(string title, double height) => new StringBuilder()
        .Append($"<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {N(Width)} {N(height)}\" width=\"100%\" role=\"img\" aria-label=\"{E(title)}\">")
        .Append($"<title>{E(title)}</title>");

    private static void XLabels(StringBuilder sb, IReadOnlyList<string> labels, double slot, bool centred = true)
    {
        var every = Math.Max(1, (int)Math.Ceiling(labels.Count / 8.0));
        for (var i = 0; i < labels.Count; i += every)
        {
            var x = Left + i * slot + (centred ? slot / 2 : 0);
            sb.Append($"<text x=\"{N(x)}\" y=\"{N(Height - Bottom + 14)}\" text-anchor=\"middle\">{E(labels[i])}</text>");
        }

        sb.Append($"<g transform=\"translate(0,{N(Height - 6)})\">");
    }

    private static string Close(StringBuilder sb, IReadOnlyList<Series> series, bool inGroup = true)
    {
        var x = Left;
        foreach (var s in series)
        {
            sb.Append($"<rect x=\"{N(x)}\" y=\"-9\" width=\"10\" height=\"10\" fill=\"{s.Color}\"/><text x=\"{N(x + 14)}\" y=\"0\">{E(s.Name)}</text>");
            x += 24 + s.Name.Length * 6.5;
        }

        if (inGroup)
        {
            sb.Append("</g>");
        }

        return sb.Append("</svg>").ToString();
    }

    /// <summary>A round number at or above the largest value, for the top grid line.</summary>
    private static double NiceTop(double max)
    {
        if (max <= 0)
        {
            return 1;
        }

        var magnitude = Math.Pow(10, Math.Floor(Math.Log10(max)));
        foreach (var step in new[] { 1, 2, 2.5, 5, 10 })
        {
            if (step * magnitude >= max)
            {
                return step * magnitude;
            }
        }

        return 10 * magnitude;
    }

    private static string Clip(string text, int max) => text.Length <= max ? text : text[..(max - 1)] + "…";

    private static string N(double value) => value.ToString("0.#", CultureInfo.InvariantCulture);
}

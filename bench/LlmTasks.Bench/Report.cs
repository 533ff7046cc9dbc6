using System.Globalization;
using System.Text;

namespace LlmTasks.Bench;

/// <summary>What one scenario (run in its own process) hands back: tables, notes and the key numbers.</summary>
internal sealed class ScenarioResult
{
    public string Title { get; set; } = string.Empty;
    public List<Table> Tables { get; set; } = [];
    public List<string> Notes { get; set; } = [];
    /// <summary>Target checks: what, the measured value, the target, met or not.</summary>
    public List<TargetCheck> Targets { get; set; } = [];
    /// <summary>Raw samples by name, for scenarios that compare runs of other scenarios.</summary>
    public Dictionary<string, List<double>> Samples { get; set; } = [];
    public string LoadBefore { get; set; } = string.Empty;
    public string LoadAfter { get; set; } = string.Empty;
    public double Seconds { get; set; }
}

internal sealed class Table
{
    public string Caption { get; set; } = string.Empty;
    public List<string> Columns { get; set; } = [];
    public List<List<string>> Rows { get; set; } = [];

    public Table Add(params string[] cells)
    {
        Rows.Add([.. cells]);
        return this;
    }

    public void Render(StringBuilder md)
    {
        if (Caption.Length > 0)
        {
            md.AppendLine(Caption).AppendLine();
        }

        md.Append("| ").AppendJoin(" | ", Columns).AppendLine(" |");
        md.Append('|').AppendJoin('|', Columns.Select(c => "---")).AppendLine("|");
        foreach (var row in Rows)
        {
            md.Append("| ").AppendJoin(" | ", row).AppendLine(" |");
        }

        md.AppendLine();
    }
}

internal sealed record TargetCheck(string What, string Measured, string Target, bool Met);

internal static class Format
{
    public static string N(double value, string format = "0.0") => value.ToString(format, CultureInfo.InvariantCulture);

    public static string Int(long value) => value.ToString("N0", CultureInfo.InvariantCulture);
}

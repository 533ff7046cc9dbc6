using System.Globalization;
using System.Text;

namespace LlmTasks.Execution;

/// <summary>Task ids for messages: "3-7, 12, 15" (ranges folded, the first 20 groups, then how many more).</summary>
internal static class TaskIds
{
    private const int Shown = 20;

    public static string Describe(IEnumerable<long> ids)
    {
        var sorted = ids.Distinct().Order().ToList();
        var text = new StringBuilder();
        var groups = 0;
        var i = 0;
        while (i < sorted.Count && groups < Shown)
        {
            var end = i;
            while (end + 1 < sorted.Count && sorted[end + 1] == sorted[end] + 1)
            {
                end++;
            }

            if (text.Length > 0)
            {
                text.Append(", ");
            }

            text.Append(sorted[i].ToString(CultureInfo.InvariantCulture));
            if (end > i)
            {
                text.Append('-').Append(sorted[end].ToString(CultureInfo.InvariantCulture));
            }

            groups++;
            i = end + 1;
        }

        if (i < sorted.Count)
        {
            text.Append(CultureInfo.InvariantCulture, $" and {sorted.Count - i} more");
        }

        return text.ToString();
    }
}

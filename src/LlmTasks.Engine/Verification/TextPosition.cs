using System.Text;

namespace LlmTasks.Verification;

/// <summary>1-based line and column of an offset in a text (columns count UTF-16 characters, as editors and PowerShell do).</summary>
internal readonly record struct TextPosition(int Line, int Column)
{
    public static TextPosition At(string text, int index)
    {
        index = Math.Clamp(index, 0, text.Length);
        var line = 1;
        var lineStart = 0;
        for (var i = 0; i < index; i++)
        {
            if (text[i] == '\n')
            {
                line++;
                lineStart = i + 1;
            }
        }

        return new TextPosition(line, index - lineStart + 1);
    }

    /// <summary>The character index of a byte offset into the text's UTF-8 form.</summary>
    public static int CharIndexOfUtf8(byte[] utf8, int byteOffset) =>
        Encoding.UTF8.GetCharCount(utf8, 0, Math.Clamp(byteOffset, 0, utf8.Length));

    /// <summary>The character index of a 0-based code-point offset (PostgreSQL counts characters as code points).</summary>
    public static int CharIndexOfCodePoint(string text, int codePoints)
    {
        var index = 0;
        for (var n = 0; n < codePoints && index < text.Length; n++)
        {
            index += char.IsHighSurrogate(text[index]) && index + 1 < text.Length && char.IsLowSurrogate(text[index + 1]) ? 2 : 1;
        }

        return index;
    }

    public override string ToString() => $"line {Line}, column {Column}";
}

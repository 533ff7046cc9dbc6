using System.Management.Automation.Host;

namespace LlmTasks.Host;

/// <summary>The console's size for formatting (120 columns when output is redirected); nothing else.</summary>
internal sealed class ScriptHostRawUserInterface : PSHostRawUserInterface
{
    private static readonly Size Window = new(Width(), 50);

    public override ConsoleColor BackgroundColor { get; set; } = ConsoleColor.Black;
    public override ConsoleColor ForegroundColor { get; set; } = ConsoleColor.Gray;
    public override Size BufferSize { get => Window; set { } }
    public override Coordinates CursorPosition { get; set; }
    public override int CursorSize { get; set; }
    public override bool KeyAvailable => false;
    public override Size MaxPhysicalWindowSize => Window;
    public override Size MaxWindowSize => Window;
    public override Coordinates WindowPosition { get; set; }
    public override Size WindowSize { get => Window; set { } }
    public override string WindowTitle { get; set; } = "LlmTasks";

    public override void FlushInputBuffer()
    {
    }

    public override BufferCell[,] GetBufferContents(Rectangle rectangle) => throw new NotSupportedException();

    public override KeyInfo ReadKey(ReadKeyOptions options) => throw new NotSupportedException("LlmTasks.Host cannot read keys.");

    public override void ScrollBufferContents(Rectangle source, Coordinates destination, Rectangle clip, BufferCell fill) => throw new NotSupportedException();

    public override void SetBufferContents(Coordinates origin, BufferCell[,] contents) => throw new NotSupportedException();

    public override void SetBufferContents(Rectangle rectangle, BufferCell fill) => throw new NotSupportedException();

    private static int Width()
    {
        try
        {
            return Console.IsOutputRedirected ? 120 : Math.Max(80, Console.WindowWidth);
        }
        catch (IOException)
        {
            return 120;
        }
    }
}
